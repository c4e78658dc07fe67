/// Storage owned by one device. Backends subclass it; the method code never looks inside.
open class DeviceBuffer {
    /// Number of `Float` elements the buffer holds.
    public let count: Int
    public init(count: Int) { self.count = count }
}

/// A dense, contiguous float32 tensor living on one device.
///
/// The shape is the logical shape; element order is row-major over `shape`.
/// Activations inside the encoder are kept channel-major, `(C, N, T, V)`, so a 1x1
/// convolution, a temporal convolution and a batch norm each see one contiguous
/// `(C, N·T·V)` matrix (see README, "Layouts").
public final class Tensor {
    public private(set) var shape: [Int]
    public let buffer: DeviceBuffer
    public unowned let device: Device

    public init(device: Device, shape: [Int], buffer: DeviceBuffer) {
        precondition(shape.reduce(1, *) <= buffer.count, "buffer smaller than shape \(shape)")
        self.device = device
        self.shape = shape
        self.buffer = buffer
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Size of dimension `i`.
    public func dim(_ i: Int) -> Int { shape[i] }

    /// Changes the logical shape without touching the data (same element count or fewer).
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) <= buffer.count, "reshape \(shape) -> \(newShape) needs more storage")
        shape = newShape
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(\(shape) on \(device.name))" }
}
