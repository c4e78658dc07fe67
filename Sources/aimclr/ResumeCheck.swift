import AimCLR
import Foundation

/// `pretrain --resume` takes the configuration stored in the checkpoint; options given with it
/// may change only what leaves the training itself unchanged.
enum ResumeCheck {
    /// Configuration fields a resumed run may change (coding keys of `PretrainConfig`).
    static let changeable: Set<String> = ["numEpoch", "saveInterval", "workDir", "keepTemporalColumns"]

    /// Flags of the fields, for messages.
    static let flags: [String: String] = [
        "dataPath": "--data", "labelPath": "--data", "method": "--method", "stream": "--stream", "layout": "--layout",
        "batchSize": "--batch-size", "queueSize": "--queue-size", "baseLR": "--base-lr", "steps": "--lr-steps",
        "momentum": "--momentum", "dropout": "--dropout", "miningEpoch": "--mining-epoch", "topK": "--topk",
        "hiddenChannels": "--hidden-channels", "hiddenDim": "--hidden-dim", "featureDim": "--feature-dim",
        "maxIterationsPerEpoch": "--max-iterations", "seed": "--seed", "eadmNoOp": "--eadm-no-op",
        "extremeTimeFlip": "--extreme-time-flip", "queueWarmup": "--queue-warmup",
    ]

    /// Refuses `asked` when it differs from `stored` in anything but the changeable fields,
    /// listing every difference.
    static func require(_ asked: PretrainConfig, matches stored: PretrainConfig, checkpoint: URL) throws {
        let a = try fields(asked), s = try fields(stored)
        var differences: [String] = []
        for key in Set(a.keys).union(s.keys).sorted() where !changeable.contains(key) {
            let given = a[key] ?? "none", saved = s[key] ?? "none"
            if given != saved { differences.append("\(flags[key] ?? key): \(saved) in the checkpoint, \(given) given") }
        }
        guard differences.isEmpty else {
            throw CommandFailure("--resume: \(checkpoint.lastPathComponent) was trained with another configuration ("
                + differences.joined(separator: "; ") + "); only --epochs, --save-interval, --device and --threads may change")
        }
    }

    /// Each field of `config` as compact JSON text.
    static func fields(_ config: PretrainConfig) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        return object.mapValues { value in
            if let d = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]),
               let text = String(data: d, encoding: .utf8) { return text }
            return "\(value)"
        }
    }
}
