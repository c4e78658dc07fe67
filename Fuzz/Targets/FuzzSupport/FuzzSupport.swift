import Foundation

/// Writes the fuzzer's input to one scratch file per process (for readers that take a path).
public enum FuzzFile {
    nonisolated(unsafe) private static var path: String?

    public static func write(_ data: UnsafePointer<UInt8>, _ size: Int, suffix: String) -> String {
        let p = path ?? {
            let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
            let made = dir + "/aimclr-fuzz-\(getpid())\(suffix)"
            path = made
            return made
        }()
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd >= 0 {
            var done = 0
            while done < size {
                let n = Foundation.write(fd, data + done, size - done)
                if n <= 0 { break }
                done += n
            }
            close(fd)
        }
        return p
    }

    public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }
}
