import AimCLR
import ArgumentParser
import Foundation
import Skeleton

/// `aimclr train`: supervised training of the ST-GCN classifier from scratch, the baseline the
/// self-supervised papers report and the ceiling their probes are read against.
struct TrainCommand: ParsableCommand {
    static let defaults = SupervisedTrainingConfig(data: "", workDir: "")
    static var recipe: ClassifierTrainingConfig { defaults.training }

    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Supervised training of the ST-GCN classifier from scratch (the supervised baseline).",
        discussion: """
        A randomly initialised encoder (the reference init, seeded by --seed) and a new fc train together on \
        DATA/train_position.npy with its labels, with the model in train mode: BN normalises with batch statistics \
        and updates its running statistics, dropout (--dropout, 0.5 as ST-GCN and AimCLR) is active in blocks 2-10. \
        The test part (DATA/val_*) is evaluated in eval mode every --eval-interval epochs and at the last.

        Defaults are the ST-GCN NTU recipe (yysijie/st-gcn config/st_gcn/ntu-xsub/train.yaml and its processor): \
        SGD momentum 0.9 with Nesterov, lr 0.1, x0.1 after epochs 10 and 50, 80 epochs, weight decay 1e-4, \
        batch 64, evaluation every 5 epochs, softmax cross-entropy, shuffled batches with drop_last. Augmentation \
        is AimCLR's crop + shear (Feeder_single, the pre-training query view: temporal crop with padding T/6 and \
        shear amplitude 0.5); ST-GCN's NTU feeder has none (--no-augment). The encoder has AimCLR's widths \
        (--hidden-channels 16, --hidden-dim 256), so it is the same network the probes read; ST-GCN's own is 64 wide.

        Writes WORK_DIR/epochN_model.safetensors after every epoch (atomically; --save-interval N keeps every N-th \
        and the newest) and WORK_DIR/latest.safetensors, a link to the newest; each is a classifier checkpoint that linear, knn, finetune and embed load with \
        --checkpoint. Also WORK_DIR/log.txt (one line per epoch), WORK_DIR/log.jsonl (a header record per start, \
        one record per epoch, the result), WORK_DIR/config.json, WORK_DIR/tensorboard/ (--no-tensorboard skips it) \
        and at the end WORK_DIR/train_result.json (best and last top-1/top-5, history, per-class accuracy, \
        confusion), train_best_logits.npy, train_last_model.safetensors and train_best_model.safetensors, as the \
        other protocols. The best is selected on the test set, as the reference's evaluations do.

        --resume continues from the newest readable checkpoint in WORK_DIR with the configuration stored there \
        (only --epochs, --save-interval, --device and --threads may change) and ends exactly as the uninterrupted run on the same \
        device. A work folder holding another run is refused unless --resume or --overwrite. Ctrl-C (or SIGTERM) \
        finishes the current iteration, writes a checkpoint and exits 130 (143); a second one stops at once.
        """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Folder holding {train,val}_position.npy and {train,val}_label.pkl (not needed with --resume).")
    var data: String?
    @Option(name: .customLong("work-dir"), help: "Where checkpoints, logs and results go.") var workDir: String
    @Option(name: .customLong("train-part"), help: "Training part (default: \(Self.defaults.trainPart.rawValue)).") var trainPart: DataPart?
    @Option(name: .customLong("test-part"), help: "Test part (default: \(Self.defaults.testPart.rawValue)).") var testPart: DataPart?
    @Option(help: "Skeleton layout: ntu-rgb+d | kinect-v1 (20 joints, MSR Action3D) | openpose | a layout JSON file (default: \(Self.defaults.layout)).")
    var layout: String?
    @Option(help: "Input stream (default: \(Self.defaults.stream.rawValue)).") var stream: SkeletonStream?
    @Option(name: .customLong("hidden-channels"), parsing: .unconditional, help: "Width of blocks 1-4 (default: \(Self.defaults.hiddenChannels), AimCLR's).")
    var hiddenChannels: Int?
    @Option(name: .customLong("hidden-dim"), parsing: .unconditional, help: "Width of block 10 and of the representation (default: \(Self.defaults.hiddenDim)).")
    var hiddenDim: Int?
    @Option(parsing: .unconditional, help: "Dropout in blocks 2-10 (default: \(Self.defaults.dropout), ST-GCN's).") var dropout: Float?
    @Option(name: .customLong("num-class"), parsing: .unconditional, help: "Classes of the classifier (default: the largest label + 1).")
    var numClass: Int?
    @Option(name: .customLong("save-interval"), parsing: .unconditional,
            help: "Keep the checkpoint of every N-th epoch; the newest is always kept for --resume (default: \(Self.defaults.saveInterval), every epoch).")
    var saveInterval: Int?
    @Option(parsing: .unconditional, help: "Epochs (default: \(Self.recipe.epochs), ST-GCN's).") var epochs: Int?
    @Option(name: .customLong("lr"), parsing: .unconditional, help: "Base learning rate (default: \(Self.recipe.baseLR), ST-GCN's).")
    var learningRate: Float?
    @Option(name: .customLong("lr-steps"), parsing: .upToNextOption,
            help: "Epochs after which lr drops x0.1 (default: \(Self.recipe.steps.map(String.init).joined(separator: " ")), ST-GCN's; a step past the last epoch never applies).")
    var lrSteps: [Int] = []
    @Option(parsing: .unconditional, help: "SGD momentum (default: \(Self.recipe.momentum)).") var momentum: Float?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "Weight decay on every parameter (default: \(Self.recipe.weightDecay), ST-GCN's).")
    var weightDecay: Float?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Batch size for training and evaluation (default: \(Self.recipe.batchSize), ST-GCN's).")
    var batchSize: Int?
    @Option(name: .customLong("eval-interval"), parsing: .unconditional, help: "Evaluate the test part every N epochs and at the last (default: \(Self.recipe.evalInterval), ST-GCN's).")
    var evalInterval: Int?
    @Option(help: "Random seed: weights, shuffle, augmentations, dropout masks (default: \(Self.recipe.seed)).") var seed: UInt64?
    @Flag(name: .customLong("no-augment"), help: "Train without crop + shear (as ST-GCN's NTU recipe).") var noAugment = false
    @Flag(name: .customLong("no-nesterov"), help: "Plain momentum SGD instead of Nesterov (the AimCLR evaluation protocols' optimiser).")
    var noNesterov = false
    @Flag(help: "Continue the run in the work folder from its newest good checkpoint, with the configuration stored there.")
    var resume = false
    @Flag(help: "Start over in a work folder that holds another run: its checkpoints, logs and results are deleted first.")
    var overwrite = false
    @Flag(name: .customLong("no-tensorboard"), help: "Do not write TensorBoard event files to WORK_DIR/tensorboard.") var noTensorBoard = false

    /// What the run writes besides its checkpoints and log.jsonl (deleted by --overwrite).
    static let companions = WorkFolder.pretrainingFiles.filter { $0 != "config.yaml" } + [SupervisedTrainer.configFileName]
        + ["train_result.json", "train_best_logits.npy", "train_best_logits_names.json", "train_best_logits_labels.pkl",
           "train_last_model.safetensors", "train_best_model.safetensors"]

    /// `--resume` may change only these (coding-key paths of `SupervisedTrainingConfig`).
    static let resumeCheck = ResumeCheck(
        changeable: ["workDir", "training.epochs", "saveInterval"],
        flags: [
            "data": "--data", "trainPart": "--train-part", "testPart": "--test-part", "layout": "--layout", "stream": "--stream",
            "hiddenChannels": "--hidden-channels", "hiddenDim": "--hidden-dim", "dropout": "--dropout", "numClass": "--num-class",
            "training.baseLR": "--lr", "training.steps": "--lr-steps", "training.momentum": "--momentum",
            "training.weightDecay": "--weight-decay", "training.batchSize": "--batch-size",
            "training.evalInterval": "--eval-interval", "training.seed": "--seed", "training.augment": "--no-augment",
            "training.nesterov": "--no-nesterov",
        ],
        allowed: "--epochs, --save-interval, --device and --threads")

    /// Settings named in the library's errors, and their flags.
    static let flagOfSetting = [
        "epochs": "--epochs", "learning rate": "--lr", "lr steps": "--lr-steps", "momentum": "--momentum",
        "weight decay": "--weight-decay", "batch size": "--batch-size", "eval interval": "--eval-interval",
        "hidden channels": "--hidden-channels", "hidden dim": "--hidden-dim", "dropout": "--dropout",
        "num class": "--num-class", "test part": "--test-part", "save interval": "--save-interval",
    ]

    /// `base` (the defaults, or a checkpoint's on resume) with the flags given applied.
    func makeConfig(base: SupervisedTrainingConfig) -> SupervisedTrainingConfig {
        var c = base
        if let v = data { c.data = v }
        c.workDir = workDir
        if let v = trainPart { c.trainPart = v }
        if let v = testPart { c.testPart = v }
        if let v = layout { c.layout = v }
        if let v = stream { c.stream = v }
        if let v = hiddenChannels { c.hiddenChannels = v }
        if let v = hiddenDim { c.hiddenDim = v }
        if let v = dropout { c.dropout = v }
        if let v = numClass { c.numClass = v }
        if let v = saveInterval { c.saveInterval = v }
        if let v = epochs { c.training.epochs = v }
        if let v = learningRate { c.training.baseLR = v }
        if !lrSteps.isEmpty { c.training.steps = lrSteps }
        if let v = momentum { c.training.momentum = v }
        if let v = weightDecay { c.training.weightDecay = v }
        if let v = batchSize { c.training.batchSize = v }
        if let v = evalInterval { c.training.evalInterval = v }
        if let v = seed { c.training.seed = v }
        if noAugment { c.training.augment = false }
        if noNesterov { c.training.nesterov = false }
        return c
    }

    /// A library error about a setting, said with the flag's name.
    static func namingFlags<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let EvaluationError.invalidSetting(name, detail) {
            guard let flag = flagOfSetting[name] else { throw EvaluationError.invalidSetting(name: name, detail: detail) }
            throw CommandFailure("\(flag): \(detail)")
        }
    }

    func validate() throws {
        guard !(resume && overwrite) else { throw CommandFailure("give --resume or --overwrite, not both") }
        // Bounded, so an absurd value fails here rather than as a trapped allocation later.
        if let b = batchSize, b > 1 << 16 { throw CommandFailure("--batch-size must be in 1...\(1 << 16) (got \(b))") }
        if let h = hiddenChannels, h > 4096 { throw CommandFailure("--hidden-channels must be in 1...4096 (got \(h))") }
        if let h = hiddenDim, h > 65536 { throw CommandFailure("--hidden-dim must be in 1...65536 (got \(h))") }
        try Self.namingFlags { try makeConfig(base: Self.defaults).validate() }
        try OutputLocation.requireFolder(workDir, flag: "--work-dir")
    }

    func run() throws {
        let folder = WorkFolder(workDir, companions: Self.companions)
        let previous = folder.previousRun
        if !previous.isEmpty && !resume && !overwrite {
            throw CommandFailure("--work-dir \(workDir) holds another run (\(WorkFolder.list(previous))); "
                + "pass --resume to continue it or --overwrite to start over")
        }
        var config: SupervisedTrainingConfig
        var skipped: [String] = []
        if resume, let (url, stored) = SupervisedCheckpoint.newestConfig(in: folder.url, warn: { skipped.append($0) }) {
            let asked = makeConfig(base: stored)
            try Self.resumeCheck.require(asked, matches: stored, checkpoint: url)
            config = asked
        } else {
            if resume && !CheckpointFiles.resumeCandidates(in: folder.url).isEmpty {
                throw CommandFailure("--resume: no checkpoint in \(workDir) is a readable `aimclr train` checkpoint ("
                    + (skipped.first.map { String($0.dropFirst("warning: ".count)) } ?? "none") + "); pass --overwrite to start over")
            }
            guard let data else { throw CommandFailure("--data: give the folder of train_position.npy and train_label.pkl") }
            config = makeConfig(base: SupervisedTrainingConfig(data: data, workDir: workDir))
        }
        let device = try deviceOptions.makeDevice()
        let trainer = try Self.namingFlags { try SupervisedTrainer(config: config, device: device) }
        if overwrite && !previous.isEmpty {
            try folder.clear()
            warn("note: --overwrite: deleted \(WorkFolder.list(previous)) from \(workDir)")
        }
        print("training from scratch on \(device.name)")
        print(trainer.dataLine)
        let signals = StopSignals()
        trainer.shouldStop = { signals.requested }
        trainer.tensorBoard = !noTensorBoard
        let result = try trainer.run(resume: resume)
        signals.uninstall()
        guard let outcome = result.outcome else {
            let sig = signals.signal
            warn("stopped by \(sig == SIGINT ? "interrupt" : "SIGTERM"): checkpoint \(result.checkpoint ?? "none"); continue with --resume")
            throw ExitCode(128 + sig)
        }
        var hp = EvaluationSummary.describe(config.training, mode: .wholeNetwork)
        hp["layout"] = trainer.layout.name
        hp["hidden_channels"] = "\(config.hiddenChannels)"
        hp["hidden_dim"] = "\(config.hiddenDim)"
        hp["dropout"] = "\(config.dropout)"
        hp["recipe"] = "ST-GCN supervised (yysijie/st-gcn ntu-xsub train.yaml) unless overridden"
        let summary = EvaluationSummary(protocolName: "train", dataset: config.data, trainSplit: config.trainPart.rawValue,
                                        testSplit: config.testPart.rawValue, stream: config.stream.rawValue,
                                        checkpoint: EncoderSource.randomInit(seed: config.training.seed).summary, encoder: "random",
                                        hyperParameters: hp, outcome: outcome, device: device.name)
        try reportingErrors("--work-dir \(workDir)") {
            try EvaluationOutput.finish(summary, outcome: outcome, test: trainer.testSet, out: workDir, encoder: trainer.encoder,
                                        provenance: Provenance(device: device.name))
        }
        if let ckpt = result.checkpoint { print("checkpoint: \(ckpt)") }
    }

    func warn(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}

extension DataPart: ExpressibleByArgument {}
