import Compute
import Dispatch

/// Accumulates wall time per op name. The CPU backend runs every op synchronously, so the
/// wall time around the call is the op's time.
struct Profiler {
    var enabled = false
    /// Inside a measured op: nested measures (an op's internal paths) count towards the outer one.
    var nested = false
    private var timings: [String: OpTiming] = [:]

    mutating func record(_ op: String, seconds: Double, flops: Double, bytes: Double) {
        if var t = timings[op] {
            t.calls += 1
            t.seconds += seconds
            t.flops += flops
            t.bytes += bytes
            timings[op] = t
        } else {
            timings[op] = OpTiming(op: op, calls: 1, seconds: seconds, flops: flops, bytes: bytes)
        }
    }

    /// Slowest first.
    var sorted: [OpTiming] { timings.values.sorted { $0.seconds > $1.seconds } }

    mutating func reset() { timings.removeAll(keepingCapacity: true) }
}

extension CPUDevice {
    /// Runs `body`, charging its wall time (and the given flop/byte counts) to `op` when
    /// profiling is on. Costs one branch when it is off. A measure inside another one (an op's
    /// internal path) counts towards the outer op only.
    @inline(__always)
    func measure(_ op: String, flops: @autoclosure () -> Double = 0, bytes: @autoclosure () -> Double = 0,
                 _ body: () -> Void) {
        guard profiler.enabled, !profiler.nested else { body(); return }
        let start = DispatchTime.now().uptimeNanoseconds
        profiler.nested = true
        body()
        profiler.nested = false
        let end = DispatchTime.now().uptimeNanoseconds
        profiler.record(op, seconds: Double(end &- start) * 1e-9, flops: flops(), bytes: bytes())
    }

    /// `measure` with the contract's cost model.
    @inline(__always)
    func measure(_ op: String, _ cost: OpCost, _ body: () -> Void) {
        measure(op, flops: cost.flops, bytes: cost.bytes, body)
    }
}
