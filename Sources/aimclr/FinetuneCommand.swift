import AimCLR
import ArgumentParser
import DataParallel
import Foundation

/// `aimclr finetune`: semi-supervised evaluation (label fraction < 1) and fine-tuning (spec §5.5-5.6).
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Semi-supervised evaluation (--label-fraction 0.01 / 0.1) or full fine-tuning (1.0) of the whole network.",
        discussion: """
        The encoder is initialised from the checkpoint and trained together with a new fc \
        (N(0, 0.02^2) / 0), with the model in eval mode (BN statistics frozen, affine parameters \
        trained, no dropout), crop + shear augmentation, SGD momentum 0.9, and gradient-norm clipping \
        to 2.0 when the label fraction is below 1 (none for full fine-tuning). The labelled subset takes \
        round(p * n_c) samples of each class (Python's round, half to even), seeded, sorted.

        The reference does not release the lr, epochs, lr steps, weight decay or batch size of these \
        protocols. Defaults chosen here: lr 0.1 (the author's reply in issue #7), weight decay 1e-4, \
        100 epochs, lr x0.1 after epoch 80, batch 128. Reporting as linear evaluation (last and best, \
        the best selected on the test set). Writes OUT/<protocol>_result.json, the best logits, the last \
        and best models and OUT/tensorboard (--no-tensorboard skips it), with protocol = semi-supervised \
        or finetune.
        """)

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var evaluation: EvaluationOptions

    @Option(name: .customLong("label-fraction"), help: "Fraction of the training labels per class: 0.01, 0.1 or 1.0.")
    var labelFraction: Double = 1.0
    @Option(parsing: .unconditional, help: "Epochs (not released by the reference; chosen default).") var epochs: Int = 100
    @Option(name: .customLong("lr"), help: "Base learning rate (not released; 0.1 per the author's reply).") var learningRate: Float = 0.1
    @Option(name: .customLong("lr-steps"), parsing: .upToNextOption, help: "Epochs after which lr drops x0.1 (not released).")
    var lrSteps: [Int] = [80]
    @Option(name: .customLong("weight-decay"), help: "Weight decay (not released; 1e-4 chosen).") var weightDecay: Float = 1e-4
    @Option(name: .customLong("gradient-clip"), help: "Gradient-norm clip (default: 2.0 below fraction 1, none at 1; 0 disables).")
    var gradientClip: Float?
    @Option(name: .customLong("eval-interval"), parsing: .unconditional, help: "Evaluate every N epochs (and at the last).") var evalInterval: Int = 5
    @Flag(name: .customLong("no-augment"), help: "Train without crop + shear.") var noAugment = false

    func validate() throws {
        guard labelFraction > 0, labelFraction <= 1 else { throw CommandFailure("--label-fraction must be in (0, 1] (got \(labelFraction))") }
        guard epochs >= 1 else { throw CommandFailure("--epochs must be at least 1 (got \(epochs))") }
        guard evalInterval >= 1 else { throw CommandFailure("--eval-interval must be at least 1 (got \(evalInterval))") }
        guard learningRate.isFinite, learningRate > 0 else { throw CommandFailure("--lr must be positive (got \(learningRate))") }
    }

    func run() throws {
        try RankedRun.run(fineTune)
    }

    /// Under N ranks each step trains on the rank's slice of the global batch (gradients averaged
    /// in one all-reduce; eval-mode BN needs no synchronisation); rank 0 writes.
    func fineTune(_ collective: Collective) throws {
        let lead = collective.rank == 0
        let device = try deviceOptions.makeDevice(rank: collective)
        let provenance = Provenance(device: device.name)
        let (fullTrain, test) = try evaluation.openSets()
        let classes = try evaluation.classCount(fullTrain, test)
        let train: EvaluationSet
        if labelFraction < 1 {
            let picked = try LabelSampler.sample(labels: fullTrain.labels, fraction: labelFraction, seed: evaluation.seed)
            train = try fullTrain.subset(picked, source: "(\(labelFraction) of the labels)")
        } else {
            train = fullTrain
        }
        let loaded = try evaluation.loadEncoder(classes: classes, device: device)
        var c = ClassifierTrainingConfig.fineTuning(labelFraction: labelFraction)
        c.epochs = epochs; c.baseLR = learningRate; c.steps = lrSteps; c.weightDecay = weightDecay
        c.evalInterval = evalInterval; c.batchSize = evaluation.batchSize; c.seed = evaluation.seed
        if let g = gradientClip { c.gradientClip = g > 0 ? g : nil }
        if noAugment { c.augment = false }
        let trainer = try ClassifierTrainer(encoder: loaded.encoder, config: c, mode: .wholeNetwork,
                                            stream: evaluation.skeletonStream, layout: try evaluation.skeletonLayout())
        try trainer.share(over: collective)
        let progress = ProgressReporter()
        progress.silent = !lead
        trainer.progress = progress
        let board = lead ? evaluation.tensorBoard() : nil
        trainer.onEvaluation = EvaluationOutput.recorder(progress: progress, board: board)
        let name = labelFraction < 1 ? "semi-supervised" : "finetune"
        print("\(name): \(train.count) labelled training samples of \(fullTrain.count), \(test.count) test, \(classes) classes, \(evaluation.stream) stream")
        let outcome = try trainer.run(train: train, test: test)
        guard lead else { return }
        var hp = EvaluationSummary.describe(c, mode: .wholeNetwork)
        hp["label_fraction"] = "\(labelFraction)"
        hp["labelled_samples"] = "\(train.count)"
        hp["unreleased_by_reference"] = "lr, epochs, lr_steps, weight_decay, batch_size (defaults chosen here)"
        let summary = EvaluationSummary(protocolName: name, dataset: evaluation.data, trainSplit: evaluation.trainPart,
                                        testSplit: evaluation.testPart, stream: evaluation.stream.rawValue,
                                        checkpoint: evaluation.source.summary, encoder: loaded.kind, hyperParameters: hp,
                                        outcome: outcome, device: device.name)
        // Checked writable at the start; this names --out should the folder have changed since.
        try reportingErrors("--out \(evaluation.out)") {
            try EvaluationOutput.finish(summary, outcome: outcome, test: test, out: evaluation.out, encoder: loaded.encoder,
                                        provenance: provenance)
        }
    }
}
