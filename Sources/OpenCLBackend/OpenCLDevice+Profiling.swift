import COpenCL
import Compute

/// Per-op timing from the queue's profiling events.
///
/// Each public op runs inside `op(_:flops:bytes:_:)`, which names the op for every kernel and
/// CLBlast call it enqueues (nested ops count towards the outermost one) and adds its flop and
/// byte counts once per call. Event times (CL_PROFILING_COMMAND_START/END) are read when the
/// queue has drained: at `synchronize()` and `profile()`.
extension OpenCLDevice {
    func op(_ name: String, flops: Double = 0, bytes: Double = 0, _ body: () -> Void) {
        if currentOp != nil { body(); return }
        currentOp = name
        defer { currentOp = nil }
        if profilingEnabled {
            var t = timings[name] ?? OpTiming(op: name, calls: 0, seconds: 0, flops: 0, bytes: 0)
            t.calls += 1
            t.flops += flops
            t.bytes += bytes
            timings[name] = t
        }
        body()
    }

    func track(_ event: cl_event, _ kernelName: String) {
        pendingEvents.append((currentOp ?? kernelName, event))
    }

    /// Adds the durations of completed events to their ops and releases the events.
    func harvestEvents() {
        guard !pendingEvents.isEmpty else { return }
        for (name, event) in pendingEvents {
            var start: cl_ulong = 0
            var end: cl_ulong = 0
            let a = clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START),
                                            MemoryLayout<cl_ulong>.size, &start, nil)
            let b = clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END),
                                            MemoryLayout<cl_ulong>.size, &end, nil)
            if a == CL_SUCCESS, b == CL_SUCCESS, end >= start {
                var t = timings[name] ?? OpTiming(op: name, calls: 0, seconds: 0, flops: 0, bytes: 0)
                t.seconds += Double(end - start) * 1e-9
                timings[name] = t
            }
            clReleaseEvent(event)
        }
        pendingEvents.removeAll(keepingCapacity: true)
    }

    func releaseEvents() {
        for (_, event) in pendingEvents { clReleaseEvent(event) }
        pendingEvents.removeAll()
    }

    public func profile() -> [OpTiming] {
        synchronize()
        return timings.values.sorted { $0.seconds > $1.seconds }
    }

    public func resetProfile() {
        synchronize()
        timings.removeAll()
    }
}

extension OpenCLDevice {
    /// Runs an enqueue call with an event out-pointer when profiling, nil otherwise, and
    /// tracks the event under the current op.
    func enqueue<R>(_ label: String, _ body: (UnsafeMutablePointer<cl_event?>?) -> R) -> R {
        guard profilingEnabled else { return body(nil) }
        var event: cl_event?
        let r = withUnsafeMutablePointer(to: &event) { body($0) }
        if let event { track(event, label) }
        return r
    }
}
