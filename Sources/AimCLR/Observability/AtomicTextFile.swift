import Foundation

/// Small text files written whole or not at all (temporary file, fsync, rename), with errors that
/// name the file and give the system's reason ("No space left on device"), and no temporary file
/// left behind when a write fails.
enum AtomicTextFile {
    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    static func write(_ text: String, to path: String, what: String) throws {
        let temporary = URL(fileURLWithPath: path).deletingLastPathComponent()
            .appendingPathComponent(".\(URL(fileURLWithPath: path).lastPathComponent).tmp-\(getpid())").path
        func fail(_ step: String) -> WriteError {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            return WriteError(description: "\(path): cannot \(step) \(what): \(why)")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("write") }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { close(fd); throw fail("write") }
            offset += n
        }
        guard fsync(fd) == 0 else { close(fd); throw fail("write") }
        close(fd)
        guard rename(temporary, path) == 0 else { throw fail("replace") }
    }
}
