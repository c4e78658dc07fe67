import ArgumentParser
import Compute
import Foundation
import OpenCLBackend

/// `aimclr tune`: searches CLBlast GEMM parameters for one OpenCL device and stores the best in
/// the tuning cache that every later run on that device applies.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune CLBlast's GEMM parameters for an OpenCL device on the shapes of a pretraining iteration.",
        discussion: """
            Times a small grid of Xgemm (large GEMMs) and XgemmDirect (small ones) parameter sets against CLBlast's own \
            choice on the GEMMs of one iteration, checks each result against CLBlast's own (max |C - C_default| / max|C_default| \
            within --tolerance) and stores the fastest per (device name, driver version, CLBlast version, shape class) in the \
            cache. OpenCL devices apply the cache when they open. Cache: --out, else AIMCLR_TUNING_CACHE, else \
            $XDG_CACHE_HOME/aimclr/clblast-tuning.json or ~/.cache/aimclr/clblast-tuning.json.
            """)

    @Option(help: "The OpenCL device: opencl:N (see `aimclr devices`).") var device: String
    @Option(help: "The cache file to write (entries for other devices are kept).") var out: String?
    @Option(help: "Batch size whose GEMM shapes are tuned (samples; two persons each).") var batch: Int = 128
    @Flag(help: "Three blocks' shapes and three candidates per class (a check on a CPU driver).") var quick = false
    @Option(help: "Timed runs per shape and candidate.") var runs: Int = 3
    @Option(name: .customLong("max-candidates"), help: "Most candidates per shape class.") var maxCandidates: Int = 32
    @Option(help: "Parity bound: max |C - C_default| / max |C_default|.") var tolerance: Double = 1e-4
    @Option(name: .customLong("class"), help: "Shape classes to tune: indirect, direct or all.") var shapeClass: String = "all"

    func validate() throws {
        guard batch >= 1 && batch <= 4096 else { throw CommandFailure("--batch must be in 1...4096 (got \(batch))") }
        guard runs >= 1 && runs <= 1000 else { throw CommandFailure("--runs must be in 1...1000 (got \(runs))") }
        guard maxCandidates >= 1 else { throw CommandFailure("--max-candidates must be at least 1 (got \(maxCandidates))") }
        guard tolerance > 0 && tolerance < 1 else { throw CommandFailure("--tolerance must be in (0, 1) (got \(tolerance))") }
        guard ["all", "indirect", "direct"].contains(shapeClass) else {
            throw CommandFailure("--class must be indirect, direct or all (got \(shapeClass))")
        }
        guard case .openCL = try DeviceSpec(parsing: device) else {
            throw CommandFailure("--device \(device): tuning needs an OpenCL device, opencl:N")
        }
    }

    func run() throws {
        guard case .openCL(let index) = try DeviceSpec(parsing: device) else { return }
        guard let path = out ?? GEMMTuningCache.defaultPath() else {
            throw CommandFailure("AIMCLR_TUNING_CACHE=none and no --out: nowhere to write the tuning cache")
        }
        // Read the existing cache first: a broken one stops here, before minutes of tuning.
        let existing: GEMMTuningCache?
        do { existing = try GEMMTuningCache.load(path: path) } catch { throw CommandFailure("\(error)") }
        let cl: OpenCLDevice
        do {
            // Tuning starts from CLBlast's own parameters, not from an earlier tuning.
            cl = try OpenCLDevice(index: index, tuningCache: nil)
        } catch { throw CommandFailure("--device \(device): \(error)") }
        var tuner = GEMMTuner()
        tuner.batch = batch; tuner.quick = quick; tuner.runs = runs; tuner.maxCandidates = maxCandidates
        tuner.tolerance = tolerance
        if shapeClass != "all" { tuner.classes = [shapeClass] }
        print("Tuning \(cl.name), driver \(cl.info.driverVersion), CLBlast \(GEMMTuningCache.clblastVersion)"
              + (quick ? " (quick)" : ""))
        let entries = try tuner.tune(cl)
        var cache = existing ?? GEMMTuningCache()
        for e in entries { cache.store(e) }
        try cache.save(path: path)
        for e in entries {
            print(String(format: "%@ (%@): %@, %.4f s -> %.4f s over %d shapes", e.shapeClass, e.kernel,
                         e.parameters.isEmpty ? "CLBlast's choice kept" : describeParameters(e.parameters),
                         e.defaultSeconds, e.tunedSeconds, e.shapes.count))
        }
        print("Tuning cache written to \(path)")
    }
}
