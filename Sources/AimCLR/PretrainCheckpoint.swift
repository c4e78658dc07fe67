import Foundation
import NN

/// Pretraining checkpoints: one safetensors file per save, named `epoch{N}_model.safetensors`
/// (see `CheckpointFiles` for the names, the checksum and the atomic write).
///
/// Tensor names are the reference state-dict names (`encoder_q.…`, `encoder_k.…`, `queue`,
/// `queue_ptr`), so the weights load in PyTorch unchanged. The training state sits beside them
/// in the same file: `optimizer.encoder_q.<name>.momentum_buffer` tensors and metadata (epoch,
/// iteration, configuration) plus a content checksum. Files are written atomically (temporary
/// file, fsync, rename), so a kill never leaves a torn checkpoint under the final name.
public enum PretrainCheckpoint {
    public static let format = "aimclr-pretrain-1"
    static let kind = "pretraining"

    public typealias Error = CheckpointFiles.Error

    /// What a checkpoint says about the run it came from.
    public struct State: Sendable {
        /// Last completed epoch (1-based).
        public var epoch: Int
        public var iteration: Int
        /// Iterations of epoch `epoch + 1` already trained (a run stopped by a signal); 0 otherwise.
        public var partialIterations: Int = 0
    }

    /// Writes the model, queue and optimiser state after `epoch` completed (and, when
    /// `partialIterations` > 0, that many iterations of the next epoch).
    /// `provenance` (version, commit, command line, device, host, start) joins the metadata.
    public static func save(_ model: AimCLRModel, epoch: Int, partialIterations: Int = 0, provenance: Provenance? = nil,
                            to url: URL) throws {
        var entries = model.encoderQ.exportState(prefix: "encoder_q.")
        entries += model.encoderK.exportState(prefix: "encoder_k.")
        let d = model.device
        entries.append(("queue", HostTensor(shape: model.queue.keys.shape, floats: d.read(model.queue.keys))))
        entries.append(("queue_ptr", HostTensor(shape: [1], int64s: [Int64(model.queue.pointer)])))
        entries += CheckpointFiles.momentumEntries(model.encoderQ.parameters, prefix: "optimizer.encoder_q.")
        let configJSON = (try? String(data: JSONEncoder().encode(model.config), encoding: .utf8)) ?? "{}"
        var metadata = [
            "format": format,
            "epoch": String(epoch),
            "iteration": String(model.iteration),
            "config": configJSON,
        ]
        if partialIterations > 0 { metadata["partial_iterations"] = String(partialIterations) }
        if let provenance { metadata.merge(provenance.metadata) { own, _ in own } }
        try CheckpointFiles.write(entries, metadata: metadata, to: url)
    }

    /// Loads a checkpoint into `model` (same configuration) and returns where the run stood.
    public static func load(_ url: URL, into model: AimCLRModel) throws -> State {
        let file = try CheckpointFiles.read(url, format: format, kind: kind)
        let path = url.path
        guard let epoch = Int(file.metadata["epoch"] ?? ""), let iteration = Int(file.metadata["iteration"] ?? "") else {
            throw Error.notACheckpoint(file: path, kind: kind, detail: "metadata lacks epoch/iteration")
        }
        let tensors = file.dictionary
        do {
            try model.encoderQ.importState(tensors, prefix: "encoder_q.")
            try model.encoderK.importState(tensors, prefix: "encoder_k.")
        } catch {
            throw Error.incompatible(file: path, detail: "\(error)")
        }
        guard let queue = tensors["queue"], queue.shape == model.queue.keys.shape,
              let ptr = tensors["queue_ptr"]?.int64s.first, ptr >= 0, Int(ptr) < model.queue.size else {
            throw Error.incompatible(file: path, detail: "queue or queue_ptr missing or of another size")
        }
        let d = model.device
        queue.floats.withUnsafeBufferPointer { d.upload($0, to: model.queue.keys) }
        model.queue.restore(pointer: Int(ptr))
        try CheckpointFiles.restoreMomentum(model.encoderQ.parameters, from: tensors, prefix: "optimizer.encoder_q.", file: path)
        model.iteration = iteration
        return State(epoch: epoch, iteration: iteration, partialIterations: Int(file.metadata["partial_iterations"] ?? "") ?? 0)
    }

    /// The configuration stored in a checkpoint that reads cleanly (format and checksum checked).
    public static func storedConfig(_ url: URL) throws -> PretrainConfig {
        try CheckpointFiles.storedConfig(url, format: format, kind: kind)
    }

    /// The newest checkpoint that reads cleanly and its configuration, warning about broken ones.
    public static func newestConfig(in directory: URL, warn: (String) -> Void) -> (url: URL, config: PretrainConfig)? {
        CheckpointFiles.newest(in: directory, warn: warn) { ($0, try storedConfig($0)) }
    }

    /// Loads the newest checkpoint that reads cleanly, warning about (and skipping) broken ones.
    public static func resumeLatest(in directory: URL, into model: AimCLRModel,
                                    warn: (String) -> Void) throws -> State? {
        CheckpointFiles.newest(in: directory, warn: warn) { try load($0, into: model) }
    }
}
