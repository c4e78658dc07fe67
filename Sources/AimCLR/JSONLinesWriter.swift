import Compute
import Foundation

/// Appends one JSON object per line to a file (logs and benchmark results).
public final class JSONLinesWriter {
    public struct OpenError: Error, CustomStringConvertible {
        public var description: String
    }

    private let handle: FileHandle
    private let encoder: JSONEncoder

    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw OpenError(description: "cannot create \(path)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw OpenError(description: "cannot open \(path) for writing") }
        let end = h.seekToEndOfFile()
        // A run killed mid-line leaves a torn last record: end it, so each line stays one JSON object
        // (the torn one is then skipped by line-wise readers instead of corrupting the next record).
        if end > 0, let r = FileHandle(forReadingAtPath: path) {
            r.seek(toFileOffset: end - 1)
            if (try? r.read(upToCount: 1))??.first != 0x0A { try? h.write(contentsOf: Data([0x0A])) }
            try? r.close()
        }
        handle = h
        self.path = path
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    public let path: String

    /// Best effort: a failed write (disk full, read-only file system) is ignored.
    public func write<T: Encodable>(_ value: T) {
        try? append(value)
    }

    /// Appends one record, throwing (naming the file) when the write fails, e.g. on a full disk.
    /// `FileHandle.write(_: Data)` would trap on such an error; this does not.
    public func append<T: Encodable>(_ value: T) throws {
        var data = try encoder.encode(value)
        data.append(0x0A)
        do { try handle.write(contentsOf: data) } catch {
            throw OpenError(description: "\(path): cannot append to the log: \(systemErrorText(error))")
        }
    }

    /// Pushes written records to the disk, so a failure shows before a checkpoint is written.
    public func flush() throws {
        do { try handle.synchronize() } catch {
            throw OpenError(description: "\(path): cannot write the log to disk: \(systemErrorText(error))")
        }
    }

    deinit { try? handle.close() }
}
