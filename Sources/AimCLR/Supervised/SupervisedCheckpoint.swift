import Foundation
import NN

/// Checkpoints of `aimclr train`: `epochN_model.safetensors` after every epoch,
/// `epochN_partialK_model.safetensors` when stopped inside epoch N (names, checksum and atomic
/// write as `CheckpointFiles`).
///
/// The encoder and its classifier sit under the bare reference names (`data_bn.weight`, …,
/// `fc.weight`), as in the classifier checkpoints of `linear` and `finetune`, so every verb loads
/// one with `--checkpoint` and PyTorch loads it after dropping the names below. The training
/// state sits beside them: SGD momentum as `optimizer.<name>.momentum_buffer`, the best evaluation
/// so far as `best_logits` and (unless it is the checkpoint's own weights) `best.<name>`, and in
/// the metadata the epoch, the steps of a partial epoch with their loss sum, the evaluation
/// history and the configuration.
public enum SupervisedCheckpoint {
    public static let format = "aimclr-train-1"
    static let kind = "supervised-training"
    static let momentumPrefix = "optimizer."
    static let bestPrefix = "best."

    public typealias Error = CheckpointFiles.Error

    public static func save(_ encoder: STGCN, state: ClassifierTrainingState, config: SupervisedTrainingConfig,
                            provenance: Provenance? = nil, to url: URL) throws {
        var entries = encoder.exportState()
        entries += CheckpointFiles.momentumEntries(encoder.parameters, prefix: momentumPrefix)
        let encoderJSON = JSONEncoder()
        encoderJSON.outputFormatting = [.sortedKeys]
        var metadata = [
            "format": format,
            "protocol": "train",
            "stream": config.stream.rawValue,
            "epoch": String(state.completedEpochs),
            "train_config": String(decoding: try encoderJSON.encode(config), as: UTF8.self),
            "history": String(decoding: try encoderJSON.encode(state.history), as: UTF8.self),
        ]
        if state.isPartial {
            metadata["partial_iterations"] = String(state.partialBatches)
            // The bit pattern: the resumed epoch's mean loss must come out identical.
            metadata["partial_loss_sum_bits"] = String(state.partialLossSum.bitPattern, radix: 16)
        }
        if let best = state.best {
            metadata["best_epoch"] = String(best.epoch)
            let classes = encoder.head.outFeatures
            entries.append(("best_logits", HostTensor(shape: [best.logits.count / classes, classes], floats: best.logits)))
            if !holdsBestWeights(state) {
                entries += best.state.map { (bestPrefix + $0.name, $0.tensor) }
            }
        }
        if let provenance { metadata.merge(provenance.metadata) { own, _ in own } }
        try CheckpointFiles.write(entries, metadata: metadata, to: url)
    }

    /// The checkpoint's own weights are the best ones (saved right after the best evaluation).
    static func holdsBestWeights(_ state: ClassifierTrainingState) -> Bool {
        state.best?.epoch == state.completedEpochs && !state.isPartial
    }

    /// Loads weights, BN statistics and momentum into `encoder` (built as the run's) and returns
    /// the state; `testLabels` rebuild the best evaluation's report from its logits.
    public static func load(_ url: URL, into encoder: STGCN, testLabels: [Int]) throws -> ClassifierTrainingState {
        let file = try CheckpointFiles.read(url, format: format, kind: kind)
        let path = url.path
        let m = file.metadata
        guard let epoch = Int(m["epoch"] ?? ""), epoch >= 0,
              let historyJSON = m["history"]?.data(using: .utf8),
              let history = try? JSONDecoder().decode([EvaluationRecord].self, from: historyJSON) else {
            throw Error.notACheckpoint(file: path, kind: kind, detail: "metadata lacks epoch or history")
        }
        let tensors = file.dictionary
        do {
            try encoder.importState(tensors, strict: true)
        } catch {
            throw Error.incompatible(file: path, detail: "\(error)")
        }
        try CheckpointFiles.restoreMomentum(encoder.parameters, from: tensors, prefix: momentumPrefix, file: path)
        var state = ClassifierTrainingState()
        state.completedEpochs = epoch
        state.history = history
        if let n = m["partial_iterations"] {
            guard let batches = Int(n), batches > 0, let bits = UInt64(m["partial_loss_sum_bits"] ?? "", radix: 16) else {
                throw Error.notACheckpoint(file: path, kind: kind, detail: "unreadable partial_iterations / partial_loss_sum_bits")
            }
            state.partialBatches = batches
            state.partialLossSum = Double(bitPattern: bits)
        }
        if let text = m["best_epoch"] {
            let classes = encoder.head.outFeatures
            guard let bestEpoch = Int(text), let logits = tensors["best_logits"],
                  logits.shape == [testLabels.count, classes] else {
                throw Error.incompatible(file: path, detail: "best_logits missing or not (\(testLabels.count), \(classes)) for this test set")
            }
            let weights: [(name: String, tensor: HostTensor)]
            if bestEpoch == epoch && !state.isPartial { // saved without best.* (see `holdsBestWeights`)
                weights = encoder.exportState()
            } else {
                weights = try encoder.exportState().map { entry in
                    guard let t = tensors[bestPrefix + entry.name], t.shape == entry.tensor.shape else {
                        throw Error.incompatible(file: path, detail: "'\(bestPrefix + entry.name)' missing or of another shape")
                    }
                    return (entry.name, t)
                }
            }
            state.best = .init(epoch: bestEpoch, logits: logits.floats, state: weights,
                               report: ClassificationMetrics.report(scores: logits.floats, classes: classes, labels: testLabels))
        }
        return state
    }

    /// The configuration stored in a checkpoint that reads cleanly (format and checksum checked).
    public static func storedConfig(_ url: URL) throws -> SupervisedTrainingConfig {
        try CheckpointFiles.storedConfig(url, format: format, kind: kind, key: "train_config")
    }

    /// The newest checkpoint that reads cleanly and its configuration, warning about broken ones.
    public static func newestConfig(in directory: URL, warn: (String) -> Void) -> (url: URL, config: SupervisedTrainingConfig)? {
        CheckpointFiles.newest(in: directory, warn: warn) { ($0, try storedConfig($0)) }
    }

    /// Loads the newest checkpoint that reads cleanly, warning about (and skipping) broken ones.
    public static func resumeLatest(in directory: URL, into encoder: STGCN, testLabels: [Int],
                                    warn: (String) -> Void) -> (url: URL, state: ClassifierTrainingState)? {
        CheckpointFiles.newest(in: directory, warn: warn) { ($0, try load($0, into: encoder, testLabels: testLabels)) }
    }
}
