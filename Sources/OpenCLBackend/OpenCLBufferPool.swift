import COpenCL
import Compute
import Foundation

/// Device memory behind a `Tensor`. Dropping the last reference hands the `cl_mem` back to the
/// pool instead of releasing it: training allocates the same sizes every step.
final class OpenCLBuffer: DeviceBuffer {
    let mem: cl_mem
    /// nil for a placeholder, whose `mem` is only retained.
    private let pool: OpenCLBufferPool?

    init(mem: cl_mem, capacity: Int, pool: OpenCLBufferPool) {
        self.mem = mem
        self.pool = pool
        super.init(count: capacity)
    }

    /// Stands in for `count` elements that could not be allocated. It is never read or written:
    /// the device records the failure and enqueues nothing until the error is taken.
    init(placeholder mem: cl_mem, count: Int) {
        clRetainMemObject(mem)
        self.mem = mem
        self.pool = nil
        super.init(count: count)
    }

    deinit {
        if let pool { pool.recycle(mem, capacity: count) } else { clReleaseMemObject(mem) }
    }
}

/// Free `cl_mem` objects keyed by capacity bucket. Buckets are 1, 1.25, 1.5, 1.75 × 2^k elements,
/// so a request wastes at most 25 % and similar sizes share buffers.
///
/// Reuse is safe without waiting: the queue is in-order, so any command that still reads a
/// recycled buffer runs before the commands of its next owner.
final class OpenCLBufferPool: @unchecked Sendable {
    private let context: cl_context
    private let lock = NSLock()
    private var free: [Int: [cl_mem]] = [:]
    private var cachedBytes = 0
    /// The largest single buffer the device accepts (CL_DEVICE_MAX_MEM_ALLOC_SIZE; nil: no limit).
    var maxBufferBytes: Int?
    var bytesInPool: Int { lock.lock(); defer { lock.unlock() }; return cachedBytes }

    init(context: cl_context) {
        self.context = context
        clRetainContext(context)
    }

    deinit {
        for list in free.values { for mem in list { clReleaseMemObject(mem) } }
        clReleaseContext(context)
    }

    static func bucket(_ count: Int) -> Int {
        if count <= 64 { return 64 }
        var base = 1
        while base * 2 <= count { base *= 2 }
        let quarter = max(base / 4, 1)
        return base + ((count - base + quarter - 1) / quarter) * quarter
    }

    func allocate(count: Int, op: String) throws -> OpenCLBuffer {
        let capacity = Self.bucket(max(count, 1))
        if let limit = maxBufferBytes, capacity * 4 > limit {
            throw DeviceError.outOfMemory(op: op, bytes: capacity * 4,
                                          detail: "the device's largest buffer is \(limit) bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)")
        }
        lock.lock()
        let reused = free[capacity]?.popLast()
        if reused != nil { cachedBytes -= capacity * 4 }
        lock.unlock()
        if let mem = reused { return OpenCLBuffer(mem: mem, capacity: capacity, pool: self) }
        var rc: cl_int = 0
        var mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), capacity * 4, nil, &rc)
        if mem == nil || rc != CL_SUCCESS {
            // Free cached buffers and try once more before giving up.
            trim()
            mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), capacity * 4, nil, &rc)
        }
        guard let mem, rc == CL_SUCCESS else {
            throw DeviceError.outOfMemory(op: op, bytes: capacity * 4, detail: "clCreateBuffer: \(clErrorName(rc))")
        }
        return OpenCLBuffer(mem: mem, capacity: capacity, pool: self)
    }

    func recycle(_ mem: cl_mem, capacity: Int) {
        lock.lock()
        free[capacity, default: []].append(mem)
        cachedBytes += capacity * 4
        lock.unlock()
    }

    /// Releases every cached buffer.
    func trim() {
        lock.lock()
        let all = free.values.flatMap { $0 }
        free.removeAll()
        cachedBytes = 0
        lock.unlock()
        for mem in all { clReleaseMemObject(mem) }
    }
}
