import Compute
import Foundation

/// `log.txt`: the run in plain lines for people (`tail -f`), beside the machine-readable
/// `log.jsonl`. Appends, so a resumed run continues the same file under a new header.
public final class TextLog {
    public let path: String
    private let handle: FileHandle

    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw JSONLinesWriter.OpenError(description: "cannot create \(path)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw JSONLinesWriter.OpenError(description: "cannot open \(path) for writing")
        }
        h.seekToEndOfFile()
        handle = h
        self.path = path
    }

    /// Appends one line (a timestamp is added in front) and pushes it to the disk.
    public func line(_ text: String) throws {
        let stamp = ISO8601DateFormatter().string(from: Date())
        do {
            try handle.write(contentsOf: Data("\(stamp)  \(text)\n".utf8))
            try handle.synchronize()
        } catch {
            throw JSONLinesWriter.OpenError(description: "\(path): cannot append to the log: \(systemErrorText(error))")
        }
    }

    deinit { try? handle.close() }
}
