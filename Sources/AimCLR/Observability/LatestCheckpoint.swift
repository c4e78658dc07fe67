import Foundation

/// `latest.safetensors`: always the newest checkpoint of a work folder, so scripts and people
/// need not work out which epoch is newest. A relative symbolic link, replaced atomically
/// (a new link under a temporary name, then rename), or a copy where links are not supported.
public enum LatestCheckpoint {
    public static let fileName = "latest.safetensors"

    /// Points `directory/latest.safetensors` at `checkpoint` (a file in the same folder).
    public static func update(in directory: URL, to checkpoint: URL) throws {
        let final = directory.appendingPathComponent(fileName).path
        let temporary = directory.appendingPathComponent(".\(fileName).tmp-\(getpid())").path
        unlink(temporary)
        if symlink(checkpoint.lastPathComponent, temporary) != 0 {
            do {
                try FileManager.default.copyItem(atPath: checkpoint.path, toPath: temporary)
            } catch {
                throw JSONLinesWriter.OpenError(description: "\(final): cannot link or copy \(checkpoint.lastPathComponent): \(error.localizedDescription)")
            }
        }
        guard rename(temporary, final) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw JSONLinesWriter.OpenError(description: "\(final): cannot replace (\(why))")
        }
    }
}
