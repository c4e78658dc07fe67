import Foundation
import NN

/// Where a classifier-training run stands between two steps: everything besides the weights and
/// the optimiser's momentum that the rest of the run depends on, so a run stopped here and
/// resumed from a checkpoint of it ends exactly as the uninterrupted run.
public struct ClassifierTrainingState: Sendable {
    /// Last completed epoch (1-based; 0 before the first).
    public var completedEpochs = 0
    /// Batches of epoch `completedEpochs + 1` already trained (a run stopped inside an epoch).
    public var partialBatches = 0
    /// Sum of the loss over those batches (the epoch's mean loss includes them).
    public var partialLossSum = 0.0
    /// Every evaluation so far.
    public var history: [EvaluationRecord] = []
    /// The evaluation with the best top-1 so far (the first on ties).
    public var best: BestEvaluation?
    /// The latest evaluation's report (nil before the first evaluation, and after a resume until
    /// the next one: it is not stored, only recomputed when needed).
    public var lastReport: ClassificationReport?

    /// The best evaluation: its epoch, test logits and the weights that produced them.
    public struct BestEvaluation: Sendable {
        public var epoch: Int
        public var logits: [Float]
        public var state: [(name: String, tensor: HostTensor)]
        public var report: ClassificationReport
        public init(epoch: Int, logits: [Float], state: [(name: String, tensor: HostTensor)], report: ClassificationReport) {
            self.epoch = epoch; self.logits = logits; self.state = state; self.report = report
        }
    }

    public init() {}

    /// Whether the run stopped inside an epoch.
    public var isPartial: Bool { partialBatches > 0 }
}

/// One finished epoch, as the trainer reports it to `ClassifierTrainer.onEpoch`.
public struct ClassifierEpoch: Sendable {
    public var epoch: Int
    public var learningRate: Float
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Double
    public var batches: Int
    /// Seconds of this process spent on the epoch (batches trained before a resume not counted).
    public var seconds: Double
    /// The evaluation of this epoch, when one was due.
    public var evaluation: EvaluationRecord?
}

/// How a training run ended.
public enum ClassifierTrainingEnd {
    /// Every epoch trained.
    case finished(ClassifierTrainingOutcome)
    /// `shouldStop` asked for it; the state is where it stood (also given to `onCheckpoint`).
    case stopped(ClassifierTrainingState)
}
