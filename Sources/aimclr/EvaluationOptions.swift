import AimCLR
import ArgumentParser
import Compute
import Foundation
import NN
import Skeleton

/// Inputs shared by every evaluation verb: the encoder, the data, the stream and the output folder.
struct EvaluationOptions: ParsableArguments {
    @Option(help: "Encoder checkpoint: a pretraining checkpoint (epochN_model.safetensors, encoder_q.*) or a classifier checkpoint.")
    var checkpoint: String?

    @Flag(name: .customLong("random-init"), help: "No checkpoint: a randomly initialised encoder (the reference init, seeded by --seed), the baseline.")
    var randomInit = false

    @Option(help: "Folder holding {train,val}_position.npy and {train,val}_label.pkl.")
    var data: String

    @Option(name: .customLong("train-part"), help: "Training part (memory bank for kNN).") var trainPart: String = "train"
    @Option(name: .customLong("test-part"), help: "Test part.") var testPart: String = "val"
    @Option(help: "Input stream.") var stream: SkeletonStream = .joint
    @Option(help: "Skeleton layout: ntu-rgb+d | kinect-v1 | openpose | a layout JSON file.") var layout: String = "ntu-rgb+d"
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Batch size for training and feature extraction.") var batchSize: Int = 128
    @Option(name: .customLong("num-class"), parsing: .unconditional, help: "Classes of the classifier (default: the largest label + 1).") var numClass: Int?
    @Option(name: .customLong("hidden-channels"), parsing: .unconditional, help: "Width of blocks 1-4 for --random-init (16 in the reference; checkpoints carry their own).")
    var hiddenChannels: Int = 16
    @Option(name: .customLong("hidden-dim"), parsing: .unconditional, help: "Width of block 10 and of the representation for --random-init (256 in the reference; checkpoints carry their own). Match the pretrained encoder's when comparing against it.")
    var hiddenDim: Int = 256
    @Option(help: "Random seed (shuffle, augmentation, classifier and --random-init weights).") var seed: UInt64 = 0
    @Option(help: "Output folder for the result JSON and the saved logits.") var out: String = "runs/eval"
    @Flag(name: .customLong("no-tensorboard"), help: "Do not write TensorBoard event files to OUT/tensorboard.") var noTensorBoard = false

    func validate() throws {
        if randomInit == (checkpoint != nil) {
            throw CommandFailure("give exactly one of --checkpoint PATH and --random-init")
        }
        // Bounded, so an absurd value fails here rather than as a trapped allocation later.
        guard batchSize > 0, batchSize <= 1 << 16 else { throw CommandFailure("--batch-size must be in 1...\(1 << 16) (got \(batchSize))") }
        if let n = numClass, n < 1 { throw CommandFailure("--num-class must be at least 1 (got \(n))") }
        guard hiddenChannels > 0 else { throw CommandFailure("--hidden-channels must be positive (got \(hiddenChannels))") }
        guard hiddenDim > 0 else { throw CommandFailure("--hidden-dim must be positive (got \(hiddenDim))") }
        try OutputLocation.requireFolder(out, flag: "--out")
    }

    var source: EncoderSource { checkpoint.map { .checkpoint(path: $0) } ?? .randomInit(seed: seed) }
    var skeletonStream: SkeletonStream { stream }

    func skeletonLayout() throws -> SkeletonLayout {
        layout.hasSuffix(".json") ? try SkeletonLayout.load(json: layout) : try SkeletonLayout.named(layout)
    }

    func part(_ name: String) throws -> DataPart {
        guard let p = DataPart(rawValue: name) else { throw CommandFailure("unknown part '\(name)' (train or val)") }
        return p
    }

    /// The training and test parts.
    func openSets() throws -> (train: EvaluationSet, test: EvaluationSet) {
        let train = try EvaluationSet.open(directory: data, part: part(trainPart))
        let test = try EvaluationSet.open(directory: data, part: part(testPart))
        let layout = try skeletonLayout()
        for set in [train, test] {
            try set.requireJoints(of: layout)
            try DataScan.requireFinite(set.positions, names: set.names)
        }
        return (train, test)
    }

    /// The encoder with a classifier head of `classes` outputs on `device`.
    func loadEncoder(classes: Int, device: Device) throws -> EncoderLoader.Loaded {
        var shape = EncoderShape()
        shape.hiddenChannels = hiddenChannels
        shape.hiddenDim = hiddenDim
        let loaded = try EncoderLoader.load(source, layout: try skeletonLayout(), numClass: classes, device: device,
                                            randomShape: shape, headSeed: seed)
        if let path = checkpoint, let warning = RecordedStream.mismatch(checkpoint: path, evaluatedOn: skeletonStream) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        print("encoder: \(source.summary) (\(loaded.kind); hidden \(loaded.shape.hiddenChannels), dim \(loaded.shape.hiddenDim)) on \(device.name)")
        return loaded
    }

    /// The TensorBoard event file of this evaluation in OUT/tensorboard, unless --no-tensorboard.
    func tensorBoard() -> TensorBoardWriter? {
        noTensorBoard ? nil : TensorBoardWriter(directory: out + "/tensorboard")
    }

    /// --num-class, or the largest label + 1; a --num-class that some label does not fit is refused
    /// here, before features are computed, instead of after.
    func classCount(_ sets: EvaluationSet...) throws -> Int {
        let needed = sets.map(\.classCount).max() ?? 0
        if let n = numClass, n < needed {
            let set = sets.first { $0.classCount == needed }!
            throw CommandFailure("--num-class \(n): \(set.source) has labels up to \(needed - 1) (\(needed) classes)")
        }
        return numClass ?? needed
    }
}

/// Printing and saving shared by the verbs that train a classifier.
enum EvaluationOutput {
    static func percent(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }

    /// Logs each evaluation: a permanent progress line and TensorBoard scalars at step = epoch
    /// (flushed at once, so an interrupted run keeps the curves so far).
    static func recorder(progress: ProgressReporter, board: TensorBoardWriter?) -> (EvaluationRecord) -> Void {
        { r in
            progress.finish(String(format: "epoch %d  loss %.4f  lr %g  top-1 %.2f%%  top-5 %.2f%%", r.epoch, r.trainLoss,
                                   r.learningRate, r.top1 * 100, r.top5 * 100))
            board?.add(step: r.epoch, [("eval/top1", Float(r.top1)), ("eval/top5", Float(r.top5)),
                                       ("train/loss", Float(r.trainLoss)), ("train/lr", r.learningRate)])
            do { try board?.flush() } catch {
                FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
            }
        }
    }

    /// Prints last and best, saves the best logits, the last and best models and the result JSON.
    static func finish(_ summary: EvaluationSummary, outcome: ClassifierTrainingOutcome, test: EvaluationSet,
                       out: String, encoder: STGCN, provenance: Provenance) throws {
        var s = summary
        s.provenance = provenance
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let logitsPath = out + "/\(s.protocolName)_best_logits.npy"
        try ScoreFile(logits: outcome.bestLogits, classes: outcome.classes, names: test.names, source: logitsPath)
            .write(logitsPath: logitsPath, labels: test.labels)
        s.logits = logitsPath
        // The trained classifier (last epoch, and best evaluation) as classifier checkpoints every verb can load again.
        func metadata(epoch: Int) -> [String: String] {
            ["format": "aimclr-classifier-1", "protocol": s.protocolName, "stream": s.stream ?? "", "epoch": "\(epoch)"]
                .merging(provenance.metadata) { own, _ in own }
        }
        let modelPath = out + "/\(s.protocolName)_last_model.safetensors"
        try SafeTensors(entries: encoder.exportState(), metadata: metadata(epoch: outcome.lastEpoch))
            .write(to: URL(fileURLWithPath: modelPath))
        let bestPath = out + "/\(s.protocolName)_best_model.safetensors"
        try SafeTensors(entries: outcome.bestState, metadata: metadata(epoch: outcome.bestEpoch))
            .write(to: URL(fileURLWithPath: bestPath))
        print("last (epoch \(outcome.lastEpoch)): top-1 \(percent(outcome.last.top1))  top-5 \(percent(outcome.last.top5))")
        print("best (epoch \(outcome.bestEpoch); \(EvaluationSummary.bestSelection.dropFirst(6))): top-1 \(percent(outcome.best.top1))  top-5 \(percent(outcome.best.top5))")
        print(ClassificationMetrics.compactText(outcome.best))
        let path = try s.write(to: out)
        print("logits: \(logitsPath) (+ _names.json, _labels.pkl)")
        print("model (last epoch): \(modelPath)")
        print("model (best, epoch \(outcome.bestEpoch)): \(bestPath)")
        print("result: \(path)")
    }
}
