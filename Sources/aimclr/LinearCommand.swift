import AimCLR
import ArgumentParser
import DataParallel
import Foundation

/// `aimclr linear`: linear evaluation of a frozen encoder (spec §5.2).
struct LinearCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "Linear evaluation: train Linear(256, classes) on a frozen encoder in eval mode.",
        discussion: """
        The reference protocol: fc initialised N(0, 0.02^2) / 0, SGD lr 3.0, momentum 0.9, weight decay 0, \
        100 epochs, lr x0.1 after epoch 80, batch 128, shuffled, cross-entropy; the whole model stays in \
        eval mode (BN running statistics, no dropout). The test part is evaluated every 5 epochs and at the \
        last; both the last and the best evaluation are reported, the best being selected on the test set \
        as the reference does. Features are computed once and the fc trains on them (identical results, \
        since the encoder is frozen and in eval mode); --recompute-features runs the encoder on every batch.

        Writes OUT/linear_result.json and OUT/linear_best_logits.npy (N, classes) with \
        linear_best_logits_names.json and linear_best_logits_labels.pkl, the input of `aimclr ensemble`, \
        OUT/linear_last_model.safetensors and OUT/linear_best_model.safetensors, and TensorBoard scalars \
        per evaluation in OUT/tensorboard (--no-tensorboard skips them).
        """)

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var evaluation: EvaluationOptions

    @Option(parsing: .unconditional, help: "Epochs.") var epochs: Int = 100
    @Option(name: .customLong("lr"), help: "Base learning rate (default: 3.0, the reference's; 0.1 with --standardize-features).")
    var learningRateGiven: Float?
    var learningRate: Float { learningRateGiven ?? (standardizeFeatures ? 0.1 : 3.0) }
    @Option(name: .customLong("lr-steps"), parsing: .upToNextOption, help: "Epochs after which lr drops x0.1.") var lrSteps: [Int] = [80]
    @Option(name: .customLong("weight-decay"), help: "Weight decay.") var weightDecay: Float = 0
    @Option(name: .customLong("eval-interval"), parsing: .unconditional, help: "Evaluate every N epochs (and at the last).") var evalInterval: Int = 5
    @Flag(name: .customLong("recompute-features"), help: "Run the frozen encoder on every batch of every epoch (slow path).")
    var recomputeFeatures = false
    @Flag(name: .customLong("standardize-features"),
          help: ArgumentHelp("Standardise each feature dimension with the training part's mean and std before the fc (a BatchNorm without affine parameters, as MAE's probe); the saved fc is folded back to read raw features.",
                             discussion: "Not in the reference protocol. Use it when the representations are nearly parallel (short pretraining, small sets): lr 3.0 on raw features then diverges."))
    var standardizeFeatures = false

    func validate() throws {
        guard epochs >= 1 else { throw CommandFailure("--epochs must be at least 1 (got \(epochs))") }
        guard evalInterval >= 1 else { throw CommandFailure("--eval-interval must be at least 1 (got \(evalInterval))") }
        guard learningRate.isFinite, learningRate > 0 else { throw CommandFailure("--lr must be positive (got \(learningRate))") }
        if standardizeFeatures && recomputeFeatures {
            throw CommandFailure("--standardize-features works on cached features; drop --recompute-features")
        }
    }

    func run() throws {
        try RankedRun.run(evaluate)
    }

    /// Under N ranks the features are computed in shares and all-gathered; every rank then trains
    /// the same fc on the same features (a few milliseconds an epoch), and rank 0 writes.
    func evaluate(_ collective: Collective) throws {
        let lead = collective.rank == 0
        let device = try deviceOptions.makeDevice(rank: collective)
        let provenance = Provenance(device: device.name)
        let (train, test) = try evaluation.openSets()
        let classes = try evaluation.classCount(train, test)
        let loaded = try evaluation.loadEncoder(classes: classes, device: device)
        var c = ClassifierTrainingConfig.linearEvaluation
        c.epochs = epochs; c.baseLR = learningRate; c.steps = lrSteps; c.weightDecay = weightDecay
        c.evalInterval = evalInterval; c.batchSize = evaluation.batchSize; c.seed = evaluation.seed
        let mode: ClassifierTrainingMode = recomputeFeatures ? .frozenEncoder : .cachedFeatures
        let trainer = try ClassifierTrainer(encoder: loaded.encoder, config: c, mode: mode,
                                            stream: evaluation.skeletonStream, layout: try evaluation.skeletonLayout())
        trainer.standardizeFeatures = standardizeFeatures
        try trainer.share(over: collective)
        let progress = ProgressReporter()
        progress.silent = !lead
        trainer.progress = progress
        let board = lead ? evaluation.tensorBoard() : nil
        trainer.onEvaluation = EvaluationOutput.recorder(progress: progress, board: board)
        print("linear evaluation: \(train.count) train / \(test.count) test samples, \(classes) classes, \(evaluation.stream) stream, \(mode.rawValue)")
        let outcome = try trainer.run(train: train, test: test)
        guard lead else { return }
        let summary = EvaluationSummary(protocolName: "linear", dataset: evaluation.data, trainSplit: evaluation.trainPart,
                                        testSplit: evaluation.testPart, stream: evaluation.stream.rawValue,
                                        checkpoint: evaluation.source.summary, encoder: loaded.kind,
                                        hyperParameters: EvaluationSummary.describe(c, mode: mode, standardized: standardizeFeatures), outcome: outcome,
                                        device: device.name)
        // Checked writable at the start; this names --out should the folder have changed since.
        try reportingErrors("--out \(evaluation.out)") {
            try EvaluationOutput.finish(summary, outcome: outcome, test: test, out: evaluation.out, encoder: loaded.encoder,
                                        provenance: provenance)
        }
    }
}
