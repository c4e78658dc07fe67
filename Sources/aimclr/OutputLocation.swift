import Foundation

/// Output locations checked before any work starts, so an unwritable `--out` fails at once
/// with the flag's name instead of as a Foundation error after a long run. Nothing is created.
enum OutputLocation {
    /// `path` is (or can become) a writable folder.
    static func requireFolder(_ path: String, flag: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
            throw CommandFailure(description: "\(flag) \(path): exists and is not a folder")
        }
        try requireCreatable(path, flag: flag)
    }

    /// `path` can be written as a file: not a folder, and its folder is (or can become) writable.
    static func requireFile(_ path: String, flag: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { throw CommandFailure(description: "\(flag) \(path): is a folder; name a file") }
            if access(path, W_OK) != 0 {
                throw CommandFailure(description: "\(flag) \(path): not writable (\(String(cString: strerror(errno))))")
            }
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try requireCreatable(parent, flag: flag, naming: path)
    }

    /// The nearest existing folder at or above `path` must be a writable, searchable folder.
    private static func requireCreatable(_ path: String, flag: String, naming: String? = nil) throws {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url = url.deletingLastPathComponent() }
        let shown = naming ?? path
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        guard isDir.boolValue else {
            throw CommandFailure(description: "\(flag) \(shown): \(url.path) is a file, not a folder")
        }
        guard access(url.path, W_OK | X_OK) == 0 else {
            let why = String(cString: strerror(errno))
            throw CommandFailure(description: "\(flag) \(shown): cannot write in \(url.path) (\(why))")
        }
    }
}
