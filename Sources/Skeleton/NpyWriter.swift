import Foundation

/// Streams a `.npy` file to disk without holding the array in memory.
///
/// Data goes to a hidden temporary file next to the destination; `finish()` fixes the
/// header (the first dimension may be learned only at the end, e.g. when bad samples are
/// skipped), flushes, and renames it into place, so readers never see a half-written file.
/// A writer dropped without `finish()` removes its temporary file.
public final class NpyWriter {
    public let path: String
    public let dtype: NpyDType
    /// The declared shape; `shape[0]` may be changed through `finish(outerCount:)`.
    public private(set) var shape: [Int]
    private let tempPath: String
    private var handle: FileHandle?
    private var written = 0  // elements
    private var pending = Data()
    private let headerSize: Int
    private static let flushBytes = 1 << 20

    /// Opens a temporary file beside `path`. `shape[0]` is a provisional count when the
    /// caller will pass the real one to `finish(outerCount:)`.
    public init(path: String, dtype: NpyDType, shape: [Int]) throws {
        self.path = path; self.dtype = dtype; self.shape = shape
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        tempPath = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: tempPath, contents: nil),
              let h = FileHandle(forWritingAtPath: tempPath) else {
            throw NpyError.writeFailed(path: path, reason: "cannot create \(tempPath)")
        }
        handle = h
        let header = NpyHeader.encode(dtype: dtype, shape: shape, reserveDigits: 19)
        headerSize = header.count
        pending.append(contentsOf: header)
    }

    deinit {
        if handle != nil {
            try? handle?.close()
            unlink(tempPath)
        }
    }

    /// Number of elements written so far.
    public var elementsWritten: Int { written }

    /// Appends raw little-endian element bytes (their count must be a multiple of the element size).
    public func append(raw bytes: UnsafeRawBufferPointer) throws {
        precondition(bytes.count % dtype.size == 0, "byte count \(bytes.count) is not a multiple of \(dtype.size)")
        guard handle != nil else { throw NpyError.writeFailed(path: path, reason: "writer already finished") }
        pending.append(contentsOf: bytes)
        written += bytes.count / dtype.size
        if pending.count >= Self.flushBytes { try flush() }
    }

    /// Appends Float values, converting to the file's dtype.
    public func append(_ values: UnsafeBufferPointer<Float>) throws {
        switch dtype {
        case .float32: try append(raw: UnsafeRawBufferPointer(values))
        case .float64: try values.map(Double.init).withUnsafeBytes { try append(raw: $0) }
        case .int64: try values.map { Int64($0) }.withUnsafeBytes { try append(raw: $0) }
        case .int32: try values.map { Int32($0) }.withUnsafeBytes { try append(raw: $0) }
        }
    }

    /// Appends Float values.
    public func append(floats values: [Float]) throws { try values.withUnsafeBufferPointer { try append($0) } }

    /// Appends Int64 values (int64 files only).
    public func append(int64s values: [Int64]) throws {
        precondition(dtype == .int64, "append([Int64]) on a \(dtype.rawValue) writer")
        try values.withUnsafeBytes { try append(raw: $0) }
    }

    private func flush() throws {
        guard let handle, !pending.isEmpty else { return }
        do { try handle.write(contentsOf: pending) } catch {
            throw NpyError.writeFailed(path: tempPath, reason: "\(error)")
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Finishes the file: `outerCount` replaces `shape[0]` (for streams of unknown length),
    /// then checks the element count, rewrites the header and renames into place.
    public func finish(outerCount: Int? = nil) throws {
        if let outerCount, !shape.isEmpty { shape[0] = outerCount }
        let expected = shape.reduce(1, *)
        try flush()
        guard let handle else { throw NpyError.writeFailed(path: path, reason: "writer already finished") }
        guard expected == written else {
            try? handle.close(); self.handle = nil; unlink(tempPath)
            throw NpyError.countMismatch(path: path, expected: expected, written: written)
        }
        let header = NpyHeader.encode(dtype: dtype, shape: shape, reserveDigits: 19)
        precondition(header.count == headerSize, "header size changed while streaming")
        do {
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: Data(header))
            try handle.synchronize()
            try handle.close()
        } catch {
            self.handle = nil; unlink(tempPath)
            throw NpyError.writeFailed(path: tempPath, reason: "\(error)")
        }
        self.handle = nil
        guard rename(tempPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tempPath)
            throw NpyError.writeFailed(path: path, reason: "rename failed: \(reason)")
        }
    }
}
