import Foundation

/// Accuracy at one evaluated epoch.
public struct EpochAccuracy: Codable, Sendable, Equatable {
    public var epoch: Int
    public var top1: Double
    public var top5: Double
    public init(epoch: Int, top1: Double, top5: Double) { self.epoch = epoch; self.top1 = top1; self.top5 = top5 }
}

/// The JSON result file every evaluation writes into its output folder (`<protocol>_result.json`).
public struct EvaluationSummary: Codable, Sendable {
    /// "linear", "knn", "semi-supervised", "finetune", "train" or "ensemble".
    public var protocolName: String
    /// Data folder (or the label file for an ensemble).
    public var dataset: String
    public var trainSplit: String?
    public var testSplit: String
    public var stream: String?
    /// Checkpoint path, or "random-init (seed s)".
    public var checkpoint: String?
    /// "pretrain", "classifier" or "random".
    public var encoder: String?
    public var hyperParameters: [String: String]
    /// The headline numbers: the best evaluation for the trained protocols (see `selection`).
    public var top1: Double
    public var top5: Double
    /// How the headline was selected.
    public var selection: String?
    public var last: EpochAccuracy?
    public var best: EpochAccuracy?
    public var history: [EvaluationRecord]?
    /// Per-class accuracy and confusion matrix of the headline evaluation.
    public var report: ClassificationReport
    /// Saved logits (N, classes) of the headline evaluation, for ensembling.
    public var logits: String?
    public var seconds: Double
    public var device: String
    public var date: String
    /// Version, commit, command line, device, host and start of the run that produced this file.
    public var provenance: Provenance?

    enum CodingKeys: String, CodingKey {
        case protocolName = "protocol"
        case dataset, trainSplit = "train_split", testSplit = "test_split", stream, checkpoint, encoder
        case hyperParameters = "hyper_parameters", top1, top5, selection, last, best, history, report, logits
        case seconds, device, date, provenance
    }

    public init(protocolName: String, dataset: String, trainSplit: String?, testSplit: String, stream: String?,
                checkpoint: String?, encoder: String?, hyperParameters: [String: String], report: ClassificationReport,
                seconds: Double, device: String) {
        self.protocolName = protocolName; self.dataset = dataset; self.trainSplit = trainSplit; self.testSplit = testSplit
        self.stream = stream; self.checkpoint = checkpoint; self.encoder = encoder; self.hyperParameters = hyperParameters
        self.report = report; self.top1 = report.top1; self.top5 = report.top5
        self.seconds = seconds; self.device = device
        self.date = ISO8601DateFormatter().string(from: Date())
        provenance = Provenance(device: device)
    }

    /// The file name inside the output folder.
    public var fileName: String { "\(protocolName)_result.json" }

    /// Writes `<directory>/<protocol>_result.json` (creating the folder); returns the path.
    @discardableResult
    public func write(to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = directory + "/" + fileName
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }

    /// The training hyper-parameters as strings for the result file.
    public static func describe(_ c: ClassifierTrainingConfig, mode: ClassifierTrainingMode, standardized: Bool = false) -> [String: String] {
        [
            "features": standardized ? "standardised with the training part's per-dimension mean and std" : "raw",
            "epochs": "\(c.epochs)", "base_lr": "\(c.baseLR)", "lr_steps": "\(c.steps)", "momentum": "\(c.momentum)",
            "weight_decay": "\(c.weightDecay)", "batch_size": "\(c.batchSize)", "eval_interval": "\(c.evalInterval)",
            "gradient_clip": c.gradientClip.map { "\($0)" } ?? "none", "augmentation": c.augment ? "crop+shear" : "none",
            "seed": "\(c.seed)", "mode": mode.rawValue, "nesterov": "\(c.nesterov)",
            "model_mode": c.modelMode == .train ? "train (BN batch statistics, running statistics updated, dropout active)"
                : "eval (BN statistics frozen, no dropout)",
        ]
    }
}

extension EvaluationSummary {
    /// How the trained protocols' headline is chosen (spec §5.2).
    public static let bestSelection = "best, selected on the test set as the reference does"

    /// The summary of a classifier-training protocol: headline = best evaluation, with the last too.
    public init(protocolName: String, dataset: String, trainSplit: String, testSplit: String, stream: String,
                checkpoint: String, encoder: String, hyperParameters: [String: String],
                outcome o: ClassifierTrainingOutcome, device: String) {
        self.init(protocolName: protocolName, dataset: dataset, trainSplit: trainSplit, testSplit: testSplit,
                  stream: stream, checkpoint: checkpoint, encoder: encoder, hyperParameters: hyperParameters,
                  report: o.best, seconds: o.seconds, device: device)
        selection = Self.bestSelection
        best = EpochAccuracy(epoch: o.bestEpoch, top1: o.best.top1, top5: o.best.top5)
        last = EpochAccuracy(epoch: o.lastEpoch, top1: o.last.top1, top5: o.last.top5)
        history = o.history
    }
}
