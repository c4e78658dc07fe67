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
        h.seekToEndOfFile()
        handle = h
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    public func write<T: Encodable>(_ value: T) {
        guard var data = try? encoder.encode(value) else { return }
        data.append(0x0A)
        handle.write(data)
    }

    deinit { try? handle.close() }
}
