import Foundation

/// Why a path cannot be read as one file, checked before any reader opens it: Foundation's
/// non-throwing reads (`FileHandle.readData(ofLength:)`) trap on a directory instead of failing.
public enum InputFile {
    /// nil when `path` names an existing regular file (or a link to one), else the reason,
    /// worded to follow the path in a message: "no such file", "is a directory", ...
    public static func problem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return errno == ENOENT ? "no such file" : String(cString: strerror(errno))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return access(path, R_OK) == 0 ? nil : "not readable (\(String(cString: strerror(errno))))"
        case S_IFDIR: return "is a directory, not a file"
        default: return "not a regular file"
        }
    }
}
