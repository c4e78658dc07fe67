import COpenCL
import Compute

/// A profiled command: its event, and for library calls that enqueue several kernels but
/// return only the last one's event (CLBlast), a marker enqueued just before the call.
struct PendingEvent {
    var op: String
    var event: cl_event
    var startMarker: cl_event?
    /// With `profileKernels`, the row "op/kernel" that also gets this command's time.
    var kernelRow: String?
}

/// Per-op timing from the queue's profiling events.
///
/// Each public op runs inside `op(_:flops:bytes:_:)`, which names the op for every kernel and
/// CLBlast call it enqueues (nested ops count towards the outermost one) and adds its flop and
/// byte counts once per call. Event times (CL_PROFILING_COMMAND_START/END) are read when the
/// queue has drained: at `synchronize()` and `profile()`. A CLBlast call is timed from the end
/// of a marker enqueued before it to the end of its returned event, so its helper kernels
/// (padding, transposes) count too; the queue is in-order, so nothing else runs in between.
extension OpenCLDevice {
    /// `op` with the contract's cost model.
    func op(_ name: String, _ cost: OpCost, _ body: () -> Void) {
        op(name, flops: cost.flops, bytes: cost.bytes, body)
    }

    func op(_ name: String, flops: Double = 0, bytes: Double = 0, _ body: () -> Void) {
        guard !runtimeFailed else { return }  // the step is already invalid (see runtimeFailed)
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

    func track(_ event: cl_event, _ kernelName: String, startMarker: cl_event? = nil) {
        // With profileKernels each kernel (or CLBlast call) of an op also gets a row "op/kernel".
        // Calls are counted here, as `op` counts its own: a kernel outside any op is its own row.
        let kernelRow = currentOp.flatMap { profileKernels ? "\($0)/\(kernelName)" : nil }
        if let row = kernelRow ?? (currentOp == nil ? kernelName : nil) {
            timings[row, default: OpTiming(op: row, calls: 0, seconds: 0, flops: 0, bytes: 0)].calls += 1
        }
        pendingEvents.append(PendingEvent(op: currentOp ?? kernelName, event: event, startMarker: startMarker,
                                          kernelRow: kernelRow))
    }

    private func timestamp(_ event: cl_event, _ which: Int32) -> cl_ulong? {
        var t: cl_ulong = 0
        let rc = clGetEventProfilingInfo(event, cl_profiling_info(which), MemoryLayout<cl_ulong>.size, &t, nil)
        return rc == CL_SUCCESS ? t : nil
    }

    /// Adds the durations of completed events to their ops and releases the events.
    func harvestEvents() {
        guard !pendingEvents.isEmpty else { return }
        for p in pendingEvents {
            let start = p.startMarker.flatMap { timestamp($0, CL_PROFILING_COMMAND_END) }
                ?? timestamp(p.event, CL_PROFILING_COMMAND_START)
            if let start, let end = timestamp(p.event, CL_PROFILING_COMMAND_END), end >= start {
                let seconds = Double(end - start) * 1e-9
                for row in [p.op] + (p.kernelRow.map { [$0] } ?? []) {
                    timings[row, default: OpTiming(op: row, calls: 0, seconds: 0, flops: 0, bytes: 0)].seconds += seconds
                }
            }
            clReleaseEvent(p.event)
            if let m = p.startMarker { clReleaseEvent(m) }
        }
        pendingEvents.removeAll(keepingCapacity: true)
    }

    func releaseEvents() {
        for p in pendingEvents {
            clReleaseEvent(p.event)
            if let m = p.startMarker { clReleaseEvent(m) }
        }
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

    /// Like `enqueue`, for a call that may enqueue several commands and report only the last.
    func enqueueSpan<R>(_ label: String, _ body: (UnsafeMutablePointer<cl_event?>?) -> R) -> R {
        guard profilingEnabled else { return body(nil) }
        var marker: cl_event?
        if clEnqueueMarkerWithWaitList(queue, 0, nil, &marker) != CL_SUCCESS { marker = nil }
        var event: cl_event?
        let r = withUnsafeMutablePointer(to: &event) { body($0) }
        if let event { track(event, label, startMarker: marker) } else if let marker { clReleaseEvent(marker) }
        return r
    }
}
