import Compute
import Foundation

/// Writes scalars as a TensorBoard event file (`events.out.tfevents.<unix time>.<host>`), the
/// format `tensorboard --logdir` reads, without a TensorFlow or protobuf dependency.
///
/// Each record is TFRecord-framed: uint64 length (little endian), masked CRC-32C of those eight
/// bytes, the serialised `Event`, masked CRC-32C of the event. Records are kept in memory until
/// `flush()`, which callers run once per epoch so a killed run keeps every finished epoch. The
/// folder and file are created by the first flush, so a command that fails early leaves nothing.
public final class TensorBoardWriter {
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    public let directory: String
    /// The event file (written from the first flush on).
    public private(set) var path: String
    private var handle: FileHandle?
    private var pending: [UInt8] = []

    /// A new event file in `directory`, starting with the `file_version` record readers expect first.
    public init(directory: String, host: String = Provenance.hostName()) {
        let now = Date().timeIntervalSince1970
        let safeHost = String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        self.directory = directory
        path = directory + "/events.out.tfevents.\(Int(now)).\(safeHost)"
        var event = ProtobufEncoder()
        event.double(1, now)
        event.string(3, "brain.Event:2")
        append(event.bytes)
    }

    private func open() throws -> FileHandle {
        if let handle { return handle }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw WriteError(description: "\(directory): cannot create the TensorBoard folder: \(systemErrorText(error))")
        }
        // A resumed run started within the same second as the last must not overwrite its file.
        if FileManager.default.fileExists(atPath: path) { path += ".\(getpid())" }
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw WriteError(description: "\(path): cannot create the TensorBoard event file")
        }
        handle = h
        return h
    }

    /// Queues one event holding every `(tag, value)` pair at `step`.
    public func add(step: Int, _ scalars: [(tag: String, value: Float)], wallTime: Double = Date().timeIntervalSince1970) {
        guard !scalars.isEmpty else { return }
        var event = ProtobufEncoder()
        event.double(1, wallTime)
        event.int64(2, Int64(step))
        event.message(5) { summary in
            for (tag, value) in scalars {
                summary.message(1) { v in
                    v.string(1, tag)
                    v.float(2, value)
                }
            }
        }
        append(event.bytes)
    }

    /// Writes the queued records and pushes them to the disk.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        let handle = try open()
        do {
            try handle.write(contentsOf: Data(pending))
            try handle.synchronize()
        } catch {
            throw WriteError(description: "\(path): cannot write TensorBoard events: \(systemErrorText(error))")
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func append(_ record: [UInt8]) {
        var length: [UInt8] = []
        withUnsafeBytes(of: UInt64(record.count).littleEndian) { length.append(contentsOf: $0) }
        pending += length
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { pending.append(contentsOf: $0) }
        pending += record
        withUnsafeBytes(of: CRC32C.masked(record).littleEndian) { pending.append(contentsOf: $0) }
    }

    deinit {
        // Completes a started file; a writer never flushed (its command failed first) leaves nothing.
        if handle != nil { try? flush() }
        try? handle?.close()
    }
}
