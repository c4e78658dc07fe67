import ArgumentParser
import Backends
import Benchmarking
import CPUBackend
import Compute
import DataParallel
import AimCLR
import Foundation
import MPIRuntime
import OpenCLBackend

/// `aimclr bench ops|step`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the op catalogue or a whole training step on each device.",
        subcommands: [BenchOpsCommand.self, BenchStepCommand.self])
}

/// Which devices a benchmark runs on: one spec, or `all`.
func benchmarkDevices(_ text: String, threads: Int?) throws -> [(label: String, device: Device)] {
    let specs: [DeviceSpec] = text == "all" ? DeviceSelector.allSpecs() : [try DeviceSpec(parsing: text)]
    return try specs.map { spec in
        let d = try DeviceSelector.make(spec, cpuThreads: threads)
        return (spec.description, d)
    }
}

struct BenchOpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time every op at the shapes of one batch-128 pretraining iteration (median/min/max).")

    @Option(help: "Devices: all | auto | cpu | opencl | opencl:N.") var device: String = "all"
    @Option(help: "CPU threads for the CPU backend.") var threads: Int?
    @Option(help: "Timed runs per op (after warm-up).") var runs: Int = 5
    @Option(help: "Untimed warm-up runs per op.") var warmup: Int = 1
    @Option(help: "Batch size (samples; two persons each).") var batch: Int = 128
    @Option(help: "Only ops whose name contains this text.") var filter: String?
    @Flag(help: "Run the selected ops round-robin, one run of each per round, so that drifting machine speed affects them alike.")
    var interleave = false
    @Option(help: "Append JSON lines to this file.") var json: String = "bench-ops.jsonl"

    func run() throws {
        // Selecting the CPU backend's OpenBLAS kernels first, so the raw OpenBLAS reference row
        // runs the same kernels as the engine.
        print("BLAS: \(CPUDevice.blasDescription)")
        print("Measuring the CPU's fp32 FMA peak...")
        let peak = CPUInfo.measureFMAPeakGFLOPS(seconds: 1.0)
        print(String(format: "CPU fp32 FMA peak: %.1f GFLOP/s (%d cores, %@); CPU kernels: %@", peak, CPUInfo.cores, CPUInfo.fmaPath,
                     CPUKernelPath.current.description))
        var bench = OpBenchmark(cpuPeakGFLOPS: peak)
        bench.runs = runs; bench.warmup = warmup; bench.batch = batch; bench.filter = filter
        bench.interleave = interleave
        let out = try JSONLinesWriter(path: json)
        print(BenchmarkTable.header())
        let emit: (OpBenchmarkRow) -> Void = { row in
            print(BenchmarkTable.line(row))
            out.write(row)
        }
        if filter == nil || "sgemm".contains(filter!) {
            emit(bench.rawOpenBLASReference())
        }
        for (label, device) in try benchmarkDevices(device, threads: threads) {
            try bench.run(on: device, deviceLabel: label, emit: emit)
        }
        print("JSON lines appended to \(json)")
    }
}

struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time whole pretraining iterations (batch 128, queue 32768) and eval-mode inference.",
        discussion: "Prints median/min/max seconds per iteration, GFLOP/s (1.10 TFLOP per batch-128 iteration), "
            + "fraction of the measured CPU peak, peak and per-iteration RSS, inference samples/s, and the per-op "
            + "breakdown from the engine's profiler. Compare with Benchmarks/pytorch_reference.py (make bench-compare). "
            + "Under `mpirun -np N` the ranks step together on slices of the --batch global batch (one device each, "
            + "picked as for pretrain) and rank 0 adds the time inside collectives, bytes sent and collectives per iteration.")

    @Option(help: "Devices: all | auto | cpu | opencl | opencl:N.") var device: String = "cpu"
    @Option(help: "CPU threads for the CPU backend.") var threads: Int?
    @Option(help: "Timed iterations (after warm-up).") var runs: Int = 5
    @Option(help: "Untimed warm-up iterations (continued until at least one second has passed, for GPU clocks to ramp up).") var warmup: Int = 1
    @Option(help: "Batch size (samples; two persons each).") var batch: Int = 128
    @Option(name: .customLong("queue-size"), help: "MoCo queue length.") var queueSize: Int = 32768
    @Option(name: .customLong("hidden-channels"), help: "Width of blocks 1-4 (16 in the reference).") var hiddenChannels: Int = 16
    @Flag(help: "Print the per-op breakdown.") var profile = false
    @Flag(name: .customLong("profile-kernels"), help: "With --profile on OpenCL: one row per kernel of each op (op/kernel).")
    var profileKernels = false
    @Flag(name: .customLong("inference-only"), help: "Time eval-mode inference only (no pretraining iterations).")
    var inferenceOnly = false
    @Flag(name: .customLong("keep-columns"), inversion: .prefixedNo,
          help: "Keep each temporal convolution's im2col from forward to backward (about 2.4 GB more per trainable view) instead of rebuilding it. Default: kept on OpenCL GPUs with at least 16 GiB, rebuilt elsewhere.")
    var keepColumns: Bool? = nil
    @OptionGroup var precisionOption: PrecisionOption
    @Option(help: "Append a JSON line to this file.") var json: String = "bench-step.jsonl"

    func validate() throws {
        guard batch >= 1 else { throw CommandFailure("--batch must be at least 1 (got \(batch))") }
        guard (1...4096).contains(hiddenChannels) else { throw CommandFailure("--hidden-channels must be in 1...4096 (got \(hiddenChannels))") }
    }

    func run() throws {
        guard Launch.launcherWorldSize() != nil else { return try measure(SingleProcess()) }
        try RankedRun.run { collective in
            guard device != "all" else { throw CommandFailure("--device all: under mpirun each rank steps on one device; name it") }
            guard batch % collective.size == 0 else {
                throw CommandFailure("--batch \(batch) does not divide into \(collective.size) ranks")
            }
            try measure(collective)
        }
    }

    func measure(_ collective: Collective) throws {
        let peak = CPUInfo.measureFMAPeakGFLOPS(seconds: 1.0)
        print(String(format: "CPU fp32 FMA peak: %.1f GFLOP/s (%d cores, %@); CPU kernels: %@", peak, CPUInfo.cores, CPUInfo.fmaPath,
                     CPUKernelPath.current.description))
        var bench = StepBenchmark(cpuPeakGFLOPS: peak)
        bench.runs = runs; bench.warmup = warmup; bench.batch = batch; bench.queueSize = queueSize
        bench.keepTemporalColumns = keepColumns
        bench.inferenceOnly = inferenceOnly
        bench.hiddenChannels = hiddenChannels
        bench.collective = collective
        let lead = collective.rank == 0
        let out: JSONLinesWriter? = lead ? try JSONLinesWriter(path: json) : nil
        let reporter = ProgressReporter()
        reporter.silent = !lead
        let devices: [(label: String, device: Device)]
        if collective.size > 1 {
            // One device per rank, chosen as pretrain chooses it (local rank, cores shared out).
            let d = try DeviceOptions.parse(["--device", device] + (threads.map { ["--threads", "\($0)"] } ?? []))
                .makeDevice(rank: collective)
            devices = [(d.name, d)]
        } else {
            devices = try benchmarkDevices(device, threads: threads)
        }
        for (_, d) in devices { try precisionOption.check(d) }
        for (label, d) in devices {
            d.profilingEnabled = profile
            (d as? OpenCLDevice)?.profileKernels = profileKernels
            if !inferenceOnly {
                var probe = PretrainConfig()
                probe.keepTemporalColumns = keepColumns
                print("\(label): temporal-conv columns "
                      + (probe.keepsTemporalColumns(on: d) ? "kept from forward to backward" : "rebuilt in the backward"))
            }
            let (r, timings, inferenceTimings) = try bench.run(on: d, label: label) {
                reporter.update("\(label): \($0)", force: true)
            }
            if inferenceOnly {
                reporter.finish(String(format: "%@: inference %.1f samples/s (median of %d batches of %d), peak RSS %.2f GiB",
                                       label, r.inferenceSamplesPerSecond, bench.inferenceBatches, r.batch,
                                       Double(r.peakRSSBytes) / 1_073_741_824))
            } else {
                reporter.finish(String(format: "%@: median %.3f s/iteration (min %.3f, max %.3f, %d runs), %.1f model GFLOP/s, %.0f%% of CPU peak, peak RSS %.2f GiB (RSS %.2f -> %.2f GiB over the timed runs), inference %.1f samples/s",
                                   label, r.medianSeconds, r.minSeconds, r.maxSeconds, r.runs, r.gflops, 100 * r.fractionOfCPUPeak,
                                   Double(r.peakRSSBytes) / 1_073_741_824, Double(r.residentAfterWarmup) / 1_073_741_824,
                                   Double(r.residentAtEnd) / 1_073_741_824, r.inferenceSamplesPerSecond))
            }
            if !(collective is SingleProcess) {
                // The slowest rank sets the pace; rank 0 reports every rank's median.
                let medians = collective.allGather(r.medianSeconds)
                reporter.finish(String(format: "%d ranks x %d samples: median %.3f s/iteration (ranks: %@); rank 0 inside collectives %.3f s/iteration (%.0f%%), %.3f MB sent in %.0f collectives per iteration",
                                       collective.size, batch / collective.size, medians.max() ?? 0,
                                       medians.map { String(format: "%.3f", $0) }.joined(separator: ", "),
                                       r.communicationSecondsPerIteration, 100 * r.communicationSecondsPerIteration / max(r.medianSeconds, 1e-9),
                                       r.bytesSentPerIteration / 1e6, r.collectivesPerIteration))
            }
            out?.write(r)
            if profile && lead {
                if !inferenceOnly {
                    print("training iterations (\(r.runs)):")
                    printProfile(timings)
                }
                print("eval-mode inference (\(bench.inferenceBatches) batches of \(r.batch)):")
                printProfile(inferenceTimings)
            }
        }
    }
}
