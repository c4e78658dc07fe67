import CBLAS
import Compute
import Foundation

/// One row of the op benchmark table (also written as a JSON line).
public struct OpBenchmarkRow: Codable, Sendable {
    public var device: String
    public var op: String
    public var shape: String
    public var medianMs: Double
    public var minMs: Double
    public var maxMs: Double
    public var runs: Int
    public var gflops: Double?
    public var gbPerSecond: Double?
    /// Achieved GFLOP/s over the CPU's measured fp32 FMA peak.
    public var fractionOfCPUPeak: Double?
}

/// Runs the op catalogue on a device and reports medians, throughput and fraction of peak.
public struct OpBenchmark {
    public var warmup = 1
    public var runs = 5
    public var batch = 128
    /// Measured CPU fp32 peak in GFLOP/s (for the fraction column).
    public var cpuPeakGFLOPS: Double
    /// Only run ops whose name contains this text (nil: all).
    public var filter: String?

    public init(cpuPeakGFLOPS: Double) { self.cpuPeakGFLOPS = cpuPeakGFLOPS }

    /// Run the selected ops round-robin (every op once per round) instead of one after the
    /// other, so that a machine whose speed drifts slows all of them alike (A/B comparisons).
    public var interleave = false

    public func run(on device: Device, deviceLabel: String, emit: (OpBenchmarkRow) -> Void) throws {
        let selected = OpCatalogue.cases(batch: batch).filter { c in filter.map { c.op.contains($0) } ?? true }
        if interleave {
            let bodies = try selected.map { try $0.prepare(device) }
            let costs = bodies.map { contractCost(of: $0, on: device) }
            var samples = [[Double]](repeating: [], count: bodies.count)
            for round in 0 ..< warmup + runs {
                for (i, body) in bodies.enumerated() {
                    let start = monotonicSeconds()
                    body()
                    device.synchronize()
                    if round >= warmup { samples[i].append(monotonicSeconds() - start) }
                }
            }
            for (i, c) in selected.enumerated() {
                emit(row(for: c, stats: TimingStats(seconds: samples[i]), cost: costs[i], device: deviceLabel))
            }
            return
        }
        for c in selected {
            let body = try c.prepare(device)
            let cost = contractCost(of: body, on: device)
            let stats = measure(device: device, warmup: warmup, runs: runs, body)
            emit(row(for: c, stats: stats, cost: cost, device: deviceLabel))
        }
    }

    /// Flops and bytes of one run as the ops' contracts count them: one extra run with the
    /// device's profiler on, summed over every op it called.
    func contractCost(of body: () -> Void, on device: Device) -> OpCost {
        let was = device.profilingEnabled
        device.profilingEnabled = true
        device.resetProfile()
        body()
        device.synchronize()
        let timings = device.profile()
        device.resetProfile()
        device.profilingEnabled = was
        return OpCost(flops: timings.reduce(0) { $0 + $1.flops }, bytes: timings.reduce(0) { $0 + $1.bytes })
    }

    func row(for c: OpCase, stats: TimingStats, cost: OpCost, device: String) -> OpBenchmarkRow {
        let gflops = cost.flops > 0 ? cost.flops / stats.median / 1e9 : nil
        return OpBenchmarkRow(device: device, op: c.op, shape: c.shape,
                              medianMs: stats.median * 1e3, minMs: stats.min * 1e3, maxMs: stats.max * 1e3,
                              runs: stats.runs, gflops: gflops,
                              gbPerSecond: cost.bytes / stats.median / 1e9,
                              fractionOfCPUPeak: gflops.map { $0 / cpuPeakGFLOPS })
    }

    /// Raw `cblas_sgemm` at the block-10 temporal-convolution shape, outside the engine: the
    /// reference the CPU backend's GEMM path is compared with in the same invocation.
    public func rawOpenBLASReference() -> OpBenchmarkRow {
        let m = 256, n = batch * 2 * 13 * 25, k = 256 * 9
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(m * k) { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<(k * n) { b[i] = Float(i % 5) * 0.01 }
        var samples: [Double] = []
        for i in 0..<(warmup + runs) {
            let start = monotonicSeconds()
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                        1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
            if i >= warmup { samples.append(monotonicSeconds() - start) }
        }
        let stats = TimingStats(seconds: samples)
        // Outside the engine, so no contract: the GEMM's own count.
        let cost = OpCost(flops: 2.0 * Double(m * n) * Double(k), bytes: 4.0 * Double(m * k + k * n + m * n))
        return row(for: OpCase(op: "sgemm (raw OpenBLAS)", shape: "\(m)x\(n)x\(k) (block-10 tcn)", prepare: { _ in {} }),
                   stats: stats, cost: cost, device: "openblas")
    }
}

/// Fixed-width table printing for benchmark rows.
public enum BenchmarkTable {
    public static func header() -> String {
        pad("device", 14) + pad("op", 24) + pad("shape", 34) + lpad("median ms", 11) + lpad("min", 9) + lpad("max", 9)
            + lpad("GFLOP/s", 9) + lpad("GB/s", 8) + lpad("%peak", 7)
    }

    public static func line(_ r: OpBenchmarkRow) -> String {
        pad(r.device, 14) + pad(r.op, 24) + pad(r.shape, 34)
            + lpad(fmt(r.medianMs, 3), 11) + lpad(fmt(r.minMs, 2), 9) + lpad(fmt(r.maxMs, 2), 9)
            + lpad(r.gflops.map { fmt($0, 1) } ?? "-", 9) + lpad(r.gbPerSecond.map { fmt($0, 1) } ?? "-", 8)
            + lpad(r.fractionOfCPUPeak.map { fmt($0 * 100, 0) } ?? "-", 7)
    }

    static func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
    static func pad(_ s: String, _ w: Int) -> String { s.count >= w ? String(s.prefix(w - 1)) + " " : s + String(repeating: " ", count: w - s.count) }
    static func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
}
