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

extension Tensor {
    /// The element count of `shape`, checked before any allocation: a negative dimension is a
    /// shape error, and a product that overflows or exceeds `maxBytes` of float32 an
    /// out-of-memory error naming the shape (never an arithmetic trap). `limit` says what the
    /// bound is, for the message.
    public static func elementCount(of shape: [Int], maxBytes: Int, limit: String) throws -> Int {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw DeviceError.shapeMismatch(op: "makeTensor", detail: "negative dimension in \(shape)")
        }
        var count = 1, overflow = false
        for d in shape {
            let (c, o) = count.multipliedReportingOverflow(by: d)
            count = c; overflow = overflow || o
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        overflow = overflow || o
        guard !overflow, bytes <= maxBytes else {
            throw DeviceError.outOfMemory(op: "makeTensor", bytes: overflow ? Int.max : bytes,
                                          detail: "shape \(shape) exceeds \(limit)")
        }
        return count
    }
}
