import AimCLR
import Foundation

/// What a work folder (pretraining, `aimclr train`) already holds, so a new run neither mixes its
/// checkpoints and log with another run's nor silently deletes them.
struct WorkFolder {
    let url: URL
    /// What the run writes besides its checkpoints and log.jsonl (see `pretrainingFiles`).
    let companions: [String]

    init(_ path: String, companions: [String] = Self.pretrainingFiles) {
        url = URL(fileURLWithPath: path)
        self.companions = companions
    }

    /// Checkpoints (newest first) and the log of an earlier run; empty for a fresh folder.
    var previousRun: [String] {
        var names = CheckpointFiles.resumeCandidates(in: url).map(\.url.lastPathComponent)
        if FileManager.default.fileExists(atPath: logPath) { names.append("log.jsonl") }
        return names
    }

    var logPath: String { url.appendingPathComponent("log.jsonl").path }

    /// What a pretraining run writes besides its checkpoints and log.jsonl; an overwrite deletes
    /// these too, so the new run's text log and TensorBoard curves do not continue the old run's.
    static let pretrainingFiles = ["log.txt", "config.yaml", LatestCheckpoint.fileName, "tensorboard"]

    /// Deletes the earlier run's checkpoints, logs, configuration and TensorBoard events (only
    /// those; other files stay).
    func clear() throws {
        for name in previousRun {
            let path = url.appendingPathComponent(name).path
            guard unlink(path) == 0 else {
                throw CommandFailure("--overwrite: cannot delete \(path) (\(String(cString: strerror(errno))))")
            }
        }
        for name in companions {
            let path = url.appendingPathComponent(name).path
            // fileExists follows links: a dangling latest.safetensors link must go as well.
            guard (try? FileManager.default.attributesOfItem(atPath: path)) != nil else { continue }
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw CommandFailure("--overwrite: cannot delete \(path) (\(error.localizedDescription))")
            }
        }
        CheckpointFiles.removeStaleTemporaries(in: url)
    }

    /// "epoch3_model.safetensors, epoch2_model.safetensors, log.jsonl" (at most four names).
    static func list(_ names: [String]) -> String {
        names.count <= 4 ? names.joined(separator: ", ") : names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
    }
}
