import Compute
import Foundation

/// Read-only bytes of a file: memory-mapped when possible, so opening a multi-gigabyte
/// `{part}_position.npy` costs no resident memory until samples are touched.
final class FileBytes: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int
    private let mapped: Bool
    private let owned: UnsafeMutableRawPointer?

    /// Maps `path` read-only (private mapping). Empty files get a nil base.
    init(mapping path: String) throws {
        if let problem = InputFile.problem(path) { throw NpyError.cannotOpen(path: path, reason: problem) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw NpyError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw NpyError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        count = Int(st.st_size)
        if count == 0 { base = nil; mapped = false; owned = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw NpyError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p); mapped = true; owned = nil
    }

    /// Copies `bytes` into owned memory (arrays built in memory).
    init(copying bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        if let src = bytes.baseAddress, count > 0 { p.copyMemory(from: src, byteCount: count) }
        owned = p; base = UnsafeRawPointer(p); mapped = false
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if mapped, let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
        owned?.deallocate()
    }
}

/// A C-ordered little-endian NumPy array, usually memory-mapped from a `.npy` file.
///
/// Elements are converted on access (`floats()`, `copyFloats(...)`), so a float64 file can
/// feed a float32 pipeline. Random access by outer index (`copyFloats(row:)`) reads only
/// the bytes of that row, which is how the loader pulls one sample at a time.
public struct NpyArray: @unchecked Sendable {
    public let shape: [Int]
    public let dtype: NpyDType
    /// Where the array came from (a path, or "<memory>"), for error messages.
    public let source: String
    private let bytes: FileBytes
    private let offset: Int

    /// Total number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Elements per outer index (product of all dimensions but the first).
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }

    /// Memory-maps and validates `path`. Throws `NpyError` naming the file and the byte offset.
    public init(contentsOf path: String) throws {
        let file = try FileBytes(mapping: path)
        let header = try NpyHeader.parse(file.buffer, path: path)
        let needed = header.count * header.dtype.size
        let available = file.count - header.dataOffset
        guard available >= needed else { throw NpyError.truncatedData(path: path, needed: needed, available: available) }
        shape = header.shape; dtype = header.dtype; source = path
        bytes = file; offset = header.dataOffset
    }

    /// An in-memory float32 array (copies `values`).
    public init(shape: [Int], floats values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        self.shape = shape; dtype = .float32; source = "<memory>"; offset = 0
        bytes = values.withUnsafeBytes { FileBytes(copying: $0) }
    }

    /// An in-memory float64 array (copies `values`).
    public init(shape: [Int], doubles values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        self.shape = shape; dtype = .float64; source = "<memory>"; offset = 0
        bytes = values.withUnsafeBytes { FileBytes(copying: $0) }
    }

    /// An in-memory int64 array (copies `values`).
    public init(shape: [Int], int64s values: [Int64]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        self.shape = shape; dtype = .int64; source = "<memory>"; offset = 0
        bytes = values.withUnsafeBytes { FileBytes(copying: $0) }
    }

    /// The raw little-endian element bytes.
    public var rawData: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.base.map { $0 + offset }, count: count * dtype.size)
    }

    /// Converts elements `[start, start + n)` to Float into `out` (unaligned-safe loads).
    public func copyFloats(from start: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(start >= 0 && start + n <= count, "range \(start)..<\(start + n) outside \(count) elements of \(source)")
        guard n > 0, let base = bytes.base else { return }
        let p = base + offset + start * dtype.size
        switch dtype {
        case .float32:
            UnsafeMutableRawPointer(out).copyMemory(from: p, byteCount: n * 4)
        case .float64:
            for i in 0..<n { out[i] = Float(p.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        case .int64:
            for i in 0..<n { out[i] = Float(p.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
        case .int32:
            for i in 0..<n { out[i] = Float(p.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
        }
    }

    /// Converts elements `[start, start + n)` to Double into `out`.
    public func copyDoubles(from start: Int, count n: Int, into out: UnsafeMutablePointer<Double>) {
        precondition(start >= 0 && start + n <= count, "range \(start)..<\(start + n) outside \(count) elements of \(source)")
        guard n > 0, let base = bytes.base else { return }
        let p = base + offset + start * dtype.size
        switch dtype {
        case .float32: for i in 0..<n { out[i] = Double(p.loadUnaligned(fromByteOffset: i * 4, as: Float.self)) }
        case .float64: UnsafeMutableRawPointer(out).copyMemory(from: p, byteCount: n * 8)
        case .int64: for i in 0..<n { out[i] = Double(p.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
        case .int32: for i in 0..<n { out[i] = Double(p.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
        }
    }

    /// All elements as Float.
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            if let b = buf.baseAddress { copyFloats(from: 0, count: count, into: b) }
            n = count
        }
    }

    /// All elements as Double.
    public func doubles() -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { buf, n in
            if let b = buf.baseAddress { copyDoubles(from: 0, count: count, into: b) }
            n = count
        }
    }

    /// All elements as Int64 (integer dtypes only; floats are truncated toward zero).
    public func int64s() -> [Int64] {
        guard let base = bytes.base, count > 0 else { return [] }
        let p = base + offset
        return (0..<count).map { i -> Int64 in
            switch dtype {
            case .int64: return p.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
            case .int32: return Int64(p.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
            case .float32: return Int64(p.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
            case .float64: return Int64(p.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
            }
        }
    }

    /// Row `i` (all elements under outer index `i`) as Float.
    public func floats(row i: Int) -> [Float] {
        precondition(!shape.isEmpty && i >= 0 && i < shape[0], "row \(i) outside \(shape) of \(source)")
        let n = rowCount
        return [Float](unsafeUninitializedCapacity: n) { buf, k in
            if let b = buf.baseAddress { copyFloats(from: i * n, count: n, into: b) }
            k = n
        }
    }

    /// Writes this array to `path` atomically.
    public func write(to path: String) throws {
        let w = try NpyWriter(path: path, dtype: dtype, shape: shape)
        try w.append(raw: rawData)
        try w.finish()
    }
}

extension NpyArray {
    /// Reads a whole `.npy` file and checks its dtype.
    public static func read(_ path: String, expecting dtype: NpyDType? = nil) throws -> NpyArray {
        let a = try NpyArray(contentsOf: path)
        if let dtype, a.dtype != dtype { throw NpyError.typeMismatch(path: path, expected: dtype, actual: a.dtype) }
        return a
    }
}
