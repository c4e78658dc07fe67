/// What one op call costs, for the profiler and the op benchmark: floating-point operations and
/// bytes moved (each tensor read or written once).
public struct OpCost: Equatable, Sendable {
    public var flops: Double
    public var bytes: Double
    public init(flops: Double = 0, bytes: Double) { self.flops = flops; self.bytes = bytes }
}

/// One place for each op's contract: the sizes and arguments its tensors must have, and its cost
/// model. Every backend checks a call against it before running the op, so both backends accept
/// and refuse the same calls, and the profiler and the op benchmark count the same flops and bytes.
///
/// A call that breaks its contract throws `DeviceError.shapeMismatch` naming the op and the shapes.
/// The backends keep the first such error and skip the op (nothing is written), and
/// `Device.checkErrors()` throws it: the training and evaluation loops call it after each step,
/// as CUDA code checks an asynchronous error at its next synchronisation.
public enum OpContract {
    static func require(_ condition: Bool, _ op: String, _ detail: @autoclosure () -> String) throws {
        if !condition { throw DeviceError.shapeMismatch(op: op, detail: detail()) }
    }

    /// Bytes of `elements` floats.
    static func floats(_ elements: Int) -> Double { 4 * Double(elements) }
}
