import Compute
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host memory for one tensor: a 64-byte aligned float array (one cache line, and the
/// alignment AVX-512 loads like), freed when the last tensor referring to it goes away.
public final class CPUBuffer: DeviceBuffer {
    /// First element. Valid for `count` floats.
    public let pointer: UnsafeMutablePointer<Float>

    /// Alignment of every allocation, in bytes.
    public static let alignment = 64

    public init(capacity: Int) {
        let bytes = max(capacity, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: CPUBuffer.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
        super.init(count: capacity)
    }

    /// Like `init(capacity:)`, but nil when the host cannot provide the memory, where
    /// `allocate` would trap: lets `makeTensor` report an out-of-memory error instead.
    public init?(tryingCapacity capacity: Int) {
        let bytes = max(capacity, 1) * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, CPUBuffer.alignment, bytes) == 0, let raw else { return nil }
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
        super.init(count: capacity)
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}

extension Tensor {
    /// The host pointer of a tensor that lives on the CPU device.
    /// A tensor from another device is a programming error, reported with its shape.
    @inline(__always)
    var cpuPointer: UnsafeMutablePointer<Float> {
        guard let buffer = buffer as? CPUBuffer else {
            preconditionFailure("tensor \(shape) does not live on the CPU device (\(device.name))")
        }
        return buffer.pointer
    }
}

/// A growable scratch area owned by the device, so hot paths (col2im gradients, Â = A ⊙ E)
/// reuse one allocation instead of allocating per call.
final class Scratch {
    private(set) var pointer: UnsafeMutablePointer<Float>?
    private(set) var capacity = 0

    /// At least `count` floats; contents undefined. Grows (never shrinks).
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || pointer == nil {
            if let p = pointer { UnsafeMutableRawPointer(p).deallocate() }
            let n = max(count, 1)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride,
                                                       alignment: CPUBuffer.alignment)
            pointer = raw.bindMemory(to: Float.self, capacity: n)
            capacity = n
        }
        return pointer!
    }

    deinit {
        if let p = pointer { UnsafeMutableRawPointer(p).deallocate() }
    }
}
