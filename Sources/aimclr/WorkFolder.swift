import AimCLR
import Foundation

/// What a pretraining work folder already holds, so a new run neither mixes its checkpoints
/// and log with another run's nor silently deletes them.
struct WorkFolder {
    let url: URL

    init(_ path: String) { url = URL(fileURLWithPath: path) }

    /// Checkpoints (newest first) and the log of an earlier run; empty for a fresh folder.
    var previousRun: [String] {
        var names = PretrainCheckpoint.resumeCandidates(in: url).map(\.url.lastPathComponent)
        if FileManager.default.fileExists(atPath: logPath) { names.append("log.jsonl") }
        return names
    }

    var logPath: String { url.appendingPathComponent("log.jsonl").path }

    /// Deletes the earlier run's checkpoints and log (only those; other files stay).
    func clear() throws {
        for name in previousRun {
            let path = url.appendingPathComponent(name).path
            guard unlink(path) == 0 else {
                throw CommandFailure("--overwrite: cannot delete \(path) (\(String(cString: strerror(errno))))")
            }
        }
        PretrainCheckpoint.removeStaleTemporaries(in: url)
    }

    /// "epoch3_model.safetensors, epoch2_model.safetensors, log.jsonl" (at most four names).
    static func list(_ names: [String]) -> String {
        names.count <= 4 ? names.joined(separator: ", ") : names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
    }
}
