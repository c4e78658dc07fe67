import COpenCL
import Compute
import Foundation

/// `aimclr tune`: a search over a small grid of CLBlast Xgemm / XgemmDirect parameters on the
/// GEMM shapes of a pretraining iteration. Each candidate is overridden into CLBlast, every shape
/// of its class is run through the engine's `sgemm` (split-K included) once to compile and
/// `runs` times timed, and its results are compared with those of CLBlast's own parameters
/// (parity: max |C - C_default| / max |C_default| ≤ `tolerance`). The fastest candidate that
/// passes and beats CLBlast's choice by `margin` wins; otherwise the entry records that the
/// default stays.
public struct GEMMTuner {
    public var batch = 128
    /// Three blocks' shapes and three candidates per class: a check that runs in a minute on a CPU driver.
    public var quick = false
    public var runs = 3
    public var maxCandidates = 32
    /// fp32 with a different blocking sums in another order: about sqrt(k)·2^-24 relative.
    public var tolerance = 1e-4
    /// A candidate must be this much faster than CLBlast's choice to be stored.
    public var margin = 0.03
    public var classes = ["indirect", "direct"]
    public var log: (String) -> Void = { print($0) }

    public init() {}

    /// CLBlast routes m·n·k below XGEMM_MIN_INDIRECT_SIZE³ to XgemmDirect; the tuner forces each
    /// class's routing while it measures and restores CLBlast's value afterwards.
    static let routingKernel = "GemmRoutine", routingParameter = "XGEMM_MIN_INDIRECT_SIZE"

    public func tune(_ device: OpenCLDevice) throws -> [GEMMTuningCache.Entry] {
        let routing = try device.clblastParameters(kernel: Self.routingKernel)
        let threshold = routing[Self.routingParameter] ?? 384
        let all = GEMMTuningShapes.shapes(batch: batch, quick: quick)
        var entries: [GEMMTuningCache.Entry] = []
        device.recordsBLASFailures = true
        defer {
            device.recordsBLASFailures = false
            try? device.overrideCLBlastParameters(kernel: Self.routingKernel, routing)
        }
        for shapeClass in classes {
            guard let kernel = GEMMTuningCache.kernel(of: shapeClass) else {
                throw DeviceError.unavailable("unknown shape class '\(shapeClass)' (expected indirect or direct)")
            }
            let cube = Double(threshold) * Double(threshold) * Double(threshold)
            // Indirect: every shape (the large ones dominate an iteration); direct: the shapes CLBlast sends there.
            let shapes = shapeClass == "indirect" ? all : all.filter { Double($0.m) * Double($0.n) * Double($0.k) < cube }
            guard !shapes.isEmpty else {
                log("\(shapeClass) (\(kernel)): no GEMM of a batch-\(batch) iteration is below CLBlast's direct threshold "
                    + "(\(threshold)³); skipped")
                continue
            }
            var forced = routing
            forced[Self.routingParameter] = shapeClass == "indirect" ? 1 : 1 << 20
            try device.overrideCLBlastParameters(kernel: Self.routingKernel, forced)
            entries.append(try tuneClass(device, shapeClass, kernel, shapes))
        }
        return entries
    }

    private func tuneClass(_ device: OpenCLDevice, _ shapeClass: String, _ kernel: String,
                           _ shapes: [GEMMShape]) throws -> GEMMTuningCache.Entry {
        let defaults = try device.clblastParameters(kernel: kernel)
        var grid = GEMMParameterGrid.candidates(kernel: kernel, defaults: defaults, info: device.info)
        grid = Array(grid.prefix(quick ? min(3, maxCandidates) : maxCandidates))
        log("\(shapeClass) (\(kernel)): \(shapes.count) shapes at batch \(batch), \(grid.count) candidates; "
            + "CLBlast's choice: \(describeParameters(defaults))")
        let problems = try shapes.enumerated().map { i, s in try Problem(device, s, seed: UInt64(i + 1)) }

        guard let baseline = measure(device, problems) else {
            throw DeviceError.backend(op: "tune", detail: "CLBlast's own \(kernel) parameters failed: \(device.blasFailure ?? "?")")
        }
        log(String(format: "  CLBlast's choice: %.4f s", baseline.seconds))
        var best: (parameters: [String: Int], seconds: Double, difference: Double)? = nil
        for (i, candidate) in grid.enumerated() {
            let label = "  [\(i + 1)/\(grid.count)] \(describeParameters(GEMMParameterGrid.varied(candidate, from: defaults)))"
            do { try device.overrideCLBlastParameters(kernel: kernel, candidate) } catch {
                log("\(label): rejected by CLBlast"); continue
            }
            guard let result = measure(device, problems) else {
                log("\(label): failed (\(device.blasFailure ?? "?"))"); continue
            }
            let difference = zip(result.outputs, baseline.outputs).map { Self.relativeDifference($0, $1) }.max() ?? 0
            let passes = difference <= tolerance
            log(String(format: "%@: %.4f s (%.2fx), max rel. difference %.1e%@", label, result.seconds,
                       baseline.seconds / max(result.seconds, 1e-12), difference, passes ? "" : " FAILS parity, dropped"))
            if passes, result.seconds < (best?.seconds ?? .infinity) { best = (candidate, result.seconds, difference) }
        }
        // Leave CLBlast on its own parameters (the caller applies the cache's choice).
        try device.overrideCLBlastParameters(kernel: kernel, defaults)
        let wins = best.map { $0.seconds < baseline.seconds * (1 - margin) } ?? false
        log(wins ? String(format: "  best: %.2fx CLBlast's choice", baseline.seconds / best!.seconds)
                 : "  CLBlast's choice stays (no candidate \(Int(margin * 100)) % faster)")
        let formatter = ISO8601DateFormatter()
        return GEMMTuningCache.Entry(
            device: device.info.name, driver: device.info.driverVersion, clblast: GEMMTuningCache.clblastVersion,
            shapeClass: shapeClass, kernel: kernel, parameters: wins ? best!.parameters : [:],
            defaultSeconds: baseline.seconds, tunedSeconds: wins ? best!.seconds : baseline.seconds,
            maxRelativeDifference: wins ? best!.difference : 0, batch: batch,
            shapes: shapes.map(\.description), candidates: grid.count, date: formatter.string(from: Date()))
    }

    /// max |a - b| / max |b|.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        var diff: Float = 0, scale: Float = 0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<min(pa.count, pb.count) {
                    diff = max(diff, abs(pa[i] - pb[i]))
                    scale = max(scale, abs(pb[i]))
                }
            }
        }
        return Double(diff) / Double(max(scale, .leastNormalMagnitude))
    }

    /// One shape's operands on the device, filled once with values in [-1, 1).
    struct Problem {
        let shape: GEMMShape
        let a: Tensor, b: Tensor, c: Tensor

        init(_ device: OpenCLDevice, _ s: GEMMShape, seed: UInt64) throws {
            shape = s
            a = try device.makeTensor([s.m * s.k]); b = try device.makeTensor([s.k * s.n]); c = try device.makeTensor([s.m * s.n])
            var state = seed &* 0x9E37_79B9_7F4A_7C15
            for t in [a, b] {
                let values = (0..<t.count).map { _ -> Float in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Float(state >> 40) / Float(1 << 23) - 1
                }
                values.withUnsafeBufferPointer { device.upload($0, to: t) }
            }
        }

        func run(_ device: OpenCLDevice) {
            let s = shape
            device.sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, device.mem(a), 0, s.transA ? s.m : s.k,
                         device.mem(b), 0, s.transB ? s.k : s.n, 0, device.mem(c), 0, s.n)
        }
    }

    /// Summed seconds of `runs` timed calls per shape and each shape's output; nil if CLBlast failed.
    private func measure(_ device: OpenCLDevice, _ problems: [Problem]) -> (seconds: Double, outputs: [[Float]])? {
        device.blasFailure = nil
        var total = 0.0, outputs: [[Float]] = []
        for p in problems {
            p.run(device)
            device.synchronize()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<runs { p.run(device) }
            device.synchronize()
            total += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if device.blasFailure != nil { return nil }
            var out = [Float](repeating: 0, count: p.c.count)
            out.withUnsafeMutableBufferPointer { device.download(p.c, into: $0) }
            outputs.append(out)
        }
        return (total, outputs)
    }
}
