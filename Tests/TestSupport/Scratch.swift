import Foundation

/// Scratch files and folders of a test process, removed when the process exits, so a test run
/// leaves nothing behind in the temporary directory (even when an assertion ends a test early).
public enum ScratchPaths {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: [URL] = []
    nonisolated(unsafe) private static var installed = false

    /// A fresh path `<tmp>/<prefix>-<UUID>` (nothing is created), removed at exit.
    public static func make(_ prefix: String) -> URL {
        register(FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)"))
    }

    /// Registers `url` for removal at exit and returns it.
    @discardableResult
    public static func register(_ url: URL) -> URL {
        lock.lock()
        defer { lock.unlock() }
        paths.append(url)
        if !installed {
            installed = true
            atexit { ScratchPaths.removeAll() }
        }
        return url
    }

    static func removeAll() {
        lock.lock()
        let all = paths
        paths = []
        lock.unlock()
        for url in all { try? FileManager.default.removeItem(at: url) }
    }
}
