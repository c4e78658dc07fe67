import Compute
import Foundation

/// `latest.safetensors`: always the newest checkpoint of a work folder, so scripts and people
/// need not work out which epoch is newest. A relative symbolic link, replaced atomically
/// (a new link under a temporary name, then rename), or a copy where links are not supported.
public enum LatestCheckpoint {
    public static let fileName = "latest.safetensors"

    /// Points `directory/latest.safetensors` at `checkpoint` (a file in the same folder).
    public static func update(in directory: URL, to checkpoint: URL) throws {
        let final = directory.appendingPathComponent(fileName).path
        let prefix = ".\(fileName).tmp-"
        let temporary = directory.appendingPathComponent(prefix + "\(getpid())").path
        // Links a killed run left between creating and renaming them, and our own from a failed try.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(prefix) {
            unlink(directory.appendingPathComponent(name).path)
        }
        if symlink(checkpoint.lastPathComponent, temporary) != 0 {
            do {
                try FileManager.default.copyItem(atPath: checkpoint.path, toPath: temporary)
            } catch {
                throw JSONLinesWriter.OpenError(description: "\(final): cannot link or copy \(checkpoint.lastPathComponent): \(systemErrorText(error))")
            }
        }
        guard rename(temporary, final) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw JSONLinesWriter.OpenError(description: "\(final): cannot replace (\(why))")
        }
    }
}
