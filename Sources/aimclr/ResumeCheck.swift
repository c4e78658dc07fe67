import AimCLR
import Foundation

/// `--resume` takes the configuration stored in the checkpoint; options given with it may change
/// only what leaves the training itself unchanged.
struct ResumeCheck {
    /// Configuration fields a resumed run may change (coding-key paths, nested ones joined by ".").
    let changeable: Set<String>
    /// Flags of the fields, for messages.
    let flags: [String: String]
    /// "--epochs, --device and --threads", for messages.
    let allowed: String

    /// `pretrain --resume`.
    static let pretraining = ResumeCheck(
        changeable: ["numEpoch", "saveInterval", "workDir", "keepTemporalColumns"],
        flags: [
            "dataPath": "--data", "labelPath": "--data", "method": "--method", "stream": "--stream", "layout": "--layout",
            "batchSize": "--batch-size", "queueSize": "--queue-size", "baseLR": "--base-lr", "steps": "--lr-steps",
            "momentum": "--momentum", "dropout": "--dropout", "miningEpoch": "--mining-epoch", "topK": "--topk",
            "hiddenChannels": "--hidden-channels", "hiddenDim": "--hidden-dim", "featureDim": "--feature-dim",
            "maxIterationsPerEpoch": "--max-iterations", "seed": "--seed", "eadmNoOp": "--eadm-no-op",
            "extremeTimeFlip": "--extreme-time-flip", "queueWarmup": "--queue-warmup",
            "shuffleBNSplits": "--shuffle-bn", "projectorBN": "--projector-bn", "temperature": "--temperature",
            "lrWarmup": "--lr-warmup-epochs",
        ],
        allowed: "--epochs, --save-interval, --device and --threads")

    /// Refuses `asked` when it differs from `stored` in anything but the changeable fields,
    /// listing every difference.
    func require<C: Encodable>(_ asked: C, matches stored: C, checkpoint: URL) throws {
        let a = try Self.fields(asked), s = try Self.fields(stored)
        var differences: [String] = []
        for key in Set(a.keys).union(s.keys).sorted() where !changeable.contains(key) {
            let given = a[key] ?? "none", saved = s[key] ?? "none"
            if given != saved { differences.append("\(flags[key] ?? key): \(saved) in the checkpoint, \(given) given") }
        }
        guard differences.isEmpty else {
            throw CommandFailure("--resume: \(checkpoint.lastPathComponent) was trained with another configuration ("
                + differences.joined(separator: "; ") + "); only \(allowed) may change")
        }
    }

    /// Each field of `config` as compact JSON text; fields of nested objects as "outer.inner".
    static func fields<C: Encodable>(_ config: C) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        var out: [String: String] = [:]
        func add(_ value: Any, _ key: String) {
            if let nested = value as? [String: Any] {
                for (k, v) in nested { add(v, key + "." + k) }
            } else if let d = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]),
                      let text = String(data: d, encoding: .utf8) {
                out[key] = text
            } else {
                out[key] = "\(value)"
            }
        }
        for (k, v) in object { add(v, k) }
        return out
    }
}
