import AimCLR
import ArgumentParser
import DataParallel
import Foundation
import MPIRuntime
import Skeleton

/// `aimclr pretrain`: self-supervised pretraining with the reference configuration keys.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain an ST-GCN encoder with AimCLR (or the SkeletonCLR baseline).",
        discussion: """
        Reads a reference YAML configuration (e.g. pretext_aimclr_xsub_joint.yaml: train_feeder_args, \
        model_args, base_lr, step, num_epoch, mining_epoch, topk, ...) when --config is given; the \
        defaults are the reference hyper-parameters. Options given on the command line override the file.

        Writes WORK_DIR/log.jsonl (one JSON object per iteration and per epoch), WORK_DIR/log.txt \
        (one line per epoch and one of training health), WORK_DIR/config.yaml (the effective configuration, loadable with --config), \
        WORK_DIR/tensorboard/ (scalars for `tensorboard --logdir`; --no-tensorboard skips them), \
        WORK_DIR/epochN_model.safetensors every --save-interval epochs and at the end, and \
        WORK_DIR/latest.safetensors, a link to the newest checkpoint. Tensor names \
        are the reference state-dict names (encoder_q.*, encoder_k.*, queue, queue_ptr). \
        --resume continues from the newest readable checkpoint in WORK_DIR; a work folder holding \
        another run is refused unless --resume or --overwrite. Ctrl-C (or SIGTERM) finishes the current \
        iteration, writes a checkpoint and exits 130 (143); a second one stops at once. The data is \
        scanned for NaN/Inf before training; bad samples are named and stop the run unless --skip-bad-samples. \
        The recipe is checked before training (a note per risky setting). \
        Data parallel: `mpirun -np N aimclr pretrain ...` splits every batch over N ranks (one device each); \
        --batch-size (batch_size) stays the GLOBAL batch, so N ranks with B/N samples each train exactly as one \
        process with B (synchronised batch norm, gathered keys, averaged gradients); it must be divisible by N. \
        Only rank 0 writes files and prints; checkpoints resume on any rank count that divides the batch. Every epoch logs the health of the \
        embeddings (alignment, uniformity, per-dimension std, positive and negative logits), the kNN top-1 of the \
        query encoder on a labelled part (--monitor-data; --no-monitor skips it) and warns when the embeddings collapse.
        """)

    /// The reference defaults, shown in --help for the options that override them.
    static let defaults = PretrainConfig()

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var precisionOption: PrecisionOption

    @Option(help: "Reference-style YAML configuration file.") var config: String?
    @Option(help: "Folder of {train}_position.npy and train_label.pkl (sets data_path and label_path).")
    var data: String?
    @Option(name: .customLong("work-dir"), help: "Where logs and checkpoints go (default: \(Self.defaults.workDir)).") var workDir: String?
    @Option(help: "Method (default: \(Self.defaults.method.rawValue)).") var method: PretrainMethod?
    @Option(help: "Input stream (default: \(Self.defaults.stream.rawValue)).") var stream: SkeletonStream?
    @Option(help: "Skeleton layout: ntu-rgb+d | kinect-v1 | openpose | a layout JSON file, the config's `layout` (default: \(Self.defaults.layout)).")
    var layout: String?
    @Option(parsing: .unconditional, help: "Epochs, num_epoch (default: \(Self.defaults.numEpoch)).") var epochs: Int?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Global batch size, split over the ranks under mpirun (default: \(Self.defaults.batchSize)).") var batchSize: Int?
    @Option(name: .customLong("queue-size"), parsing: .unconditional, help: "MoCo queue length K, a multiple of the batch size (default: \(Self.defaults.queueSize)).") var queueSize: Int?
    @Option(name: .customLong("base-lr"), parsing: .unconditional, help: "Base learning rate (default: \(Self.defaults.baseLR)).") var baseLR: Float?
    @Option(name: .customLong("lr-steps"), parsing: .upToNextOption, help: "Epochs after which lr drops x0.1 (default: \(Self.defaults.steps.map(String.init).joined(separator: " "))).") var lrSteps: [Int] = []
    @Option(name: .customLong("lr-warmup-epochs"), parsing: .unconditional, help: "Linear lr warm-up over the first N epochs, per iteration (not in the reference; default: 0, none).") var lrWarmupEpochs: Int?
    @Option(parsing: .unconditional, help: "Key-encoder momentum (default: \(Self.defaults.momentum)).") var momentum: Float?
    @Option(parsing: .unconditional, help: "Dropout in blocks 2-10 (default: \(Self.defaults.dropout)).") var dropout: Float?
    @Option(name: .customLong("mining-epoch"), parsing: .unconditional, help: "Last epoch of InfoNCE; NNM afterwards (default: \(Self.defaults.miningEpoch)).") var miningEpoch: Int?
    @Option(parsing: .unconditional, help: "NNM neighbours per view (default: \(Self.defaults.topK)).") var topk: Int?
    @Option(name: .customLong("hidden-channels"), parsing: .unconditional, help: "Width of blocks 1-4 (default: \(Self.defaults.hiddenChannels)).") var hiddenChannels: Int?
    @Option(name: .customLong("hidden-dim"), parsing: .unconditional, help: "Width of block 10 and of the representation (default: \(Self.defaults.hiddenDim)).") var hiddenDim: Int?
    @Option(name: .customLong("feature-dim"), parsing: .unconditional, help: "Projection output / queue dimension (default: \(Self.defaults.featureDim)).") var featureDim: Int?
    @Option(name: .customLong("save-interval"), parsing: .unconditional, help: "Checkpoint every N epochs (default: \(Self.defaults.saveInterval)).") var saveInterval: Int?
    @Option(name: .customLong("max-iterations"), parsing: .unconditional, help: "Cap iterations per epoch for smoke runs (default: 0, no cap).") var maxIterations: Int?
    @Option(help: "Random seed (default: \(Self.defaults.seed)).") var seed: UInt64?
    @Flag(name: .customLong("eadm-no-op"), help: "December 2021 behaviour: EADM passes features through.") var eadmNoOp = false
    @Flag(name: .customLong("extreme-time-flip"), help: "December 2021 behaviour: temporal flip in the extreme chain.") var timeFlip = false
    @Flag(name: .customLong("queue-warmup"), help: "Fill the queue with the untrained key encoder's keys before the first update (not in the reference; helps short schedules).")
    var queueWarmup = false
    @Option(parsing: .unconditional, help: "Softmax temperature of the contrastive logits (default: \(Self.defaults.temperature)).")
    var temperature: Float?
    @Flag(name: .customLong("projector-bn"), help: "BatchNorm1d on the projection head's hidden layer (Linear-BN-ReLU-Linear; not in the reference; keeps the small-data runs from collapsing, see the README).")
    var projectorBN = false
    @Option(name: .customLong("shuffle-bn"), parsing: .unconditional, help: "Shuffled key BN: the key encoder runs on N shuffled sub-batches (MoCo's remedy for batch-statistics leakage; not in the reference, 1 = off) (default: 1).")
    var shuffleBN: Int?
    @Flag(help: "Continue the run in the work folder from its newest good checkpoint, with the configuration stored there (only --epochs, --save-interval, --device and --threads may change).")
    var resume = false
    @Flag(help: "Start over in a work folder that holds another run: its checkpoints and log.jsonl are deleted first.")
    var overwrite = false
    @Flag(name: .customLong("skip-bad-samples"), help: "Train without samples that hold NaN or infinite values (each is named) instead of stopping.")
    var skipBadSamples = false
    @Option(name: .customLong("monitor-data"), help: "Folder whose val_position.npy and val_label.pkl are the kNN monitor's test set (default: the training data's folder when it has them).")
    var monitorData: String?
    @Option(name: .customLong("monitor-every"), parsing: .unconditional, help: "Measure kNN top-1 every N epochs (and after the last) (default: 1).")
    var monitorEvery: Int = 1
    @Option(name: .customLong("monitor-samples"), parsing: .unconditional, help: "Samples of the memory bank and of the test set each, evenly spread (default: 2048).")
    var monitorSamples: Int = 2048
    @Flag(name: .customLong("no-monitor"), help: "Do not measure kNN top-1 during training.") var noMonitor = false
    @Option(name: .customLong("monitor-k"), parsing: .unconditional, help: "Neighbours of the kNN monitor, as `aimclr knn --k` (default: 200; on small sets use at most the samples per class).")
    var monitorK: Int = 200
    @Flag(name: .customLong("monitor-standardize"), help: "Standardise the monitor's features with the bank's per-dimension mean and std, as `aimclr knn --standardize-features`.")
    var monitorStandardize = false
    @Flag(help: "Print the per-op time breakdown at the end.") var profile = false
    @Flag(name: .customLong("no-tensorboard"), help: "Do not write TensorBoard event files to WORK_DIR/tensorboard.") var noTensorBoard = false

    /// The configuration: `base` (defaults, or a checkpoint's on resume), then --config, then the flags.
    func makeConfig(base: PretrainConfig = PretrainConfig()) throws -> PretrainConfig {
        var c = base
        if let path = config {
            let (loaded, unknown) = try PretrainConfig.load(yaml: path)
            c = loaded
            for key in unknown { FileHandle.standardError.write("warning: \(path): unknown key '\(key)' ignored\n".data(using: .utf8)!) }
        }
        if let d = data {
            c.dataPath = d + "/train_position.npy"
            c.labelPath = d + "/train_label.pkl"
        }
        if let v = workDir { c.workDir = v }
        if let v = method { c.method = v }
        if let v = stream { c.stream = v }
        if let v = layout { c.layout = v }
        if let v = epochs { c.numEpoch = v }
        if let v = batchSize { c.batchSize = v }
        if let v = queueSize { c.queueSize = v }
        if let v = baseLR { c.baseLR = v }
        if !lrSteps.isEmpty { c.steps = lrSteps }
        if let v = lrWarmupEpochs { c.lrWarmupEpochs = v }
        if let v = miningEpoch { c.miningEpoch = v }
        if let v = momentum { c.momentum = v }
        if let v = dropout { c.dropout = v }
        if let v = topk { c.topK = v }
        if let v = hiddenChannels { c.hiddenChannels = v }
        if let v = hiddenDim { c.hiddenDim = v }
        if let v = featureDim { c.featureDim = v }
        if let v = saveInterval { c.saveInterval = v }
        if let v = maxIterations { c.maxIterationsPerEpoch = v }
        if let v = seed { c.seed = v }
        if eadmNoOp { c.eadmNoOp = true }
        if timeFlip { c.extremeTimeFlip = true }
        if queueWarmup { c.queueWarmup = true }
        if let v = shuffleBN { c.keyShuffleSplits = v }
        if let v = temperature { c.temperature = v }
        if projectorBN { c.projectionBatchNorm = true }
        try c.validate()
        return c
    }

    /// Configuration keys set by a flag on this command line, with the flag as typed.
    var flagsGiven: [String: String] {
        var m: [String: String] = [:]
        if data != nil { m["data_path"] = "--data"; m["label_path"] = "--data" }
        if workDir != nil { m["work_dir"] = "--work-dir" }
        if layout != nil { m["layout"] = "--layout" }
        if epochs != nil { m["num_epoch"] = "--epochs" }
        if batchSize != nil { m["batch_size"] = "--batch-size" }
        if queueSize != nil { m["queue_size"] = "--queue-size" }
        if shuffleBN != nil { m["shuffle_bn_splits"] = "--shuffle-bn" }
        if temperature != nil { m["Temperature"] = "--temperature" }
        if baseLR != nil { m["base_lr"] = "--base-lr" }
        if lrWarmupEpochs != nil { m["lr_warmup_epochs"] = "--lr-warmup-epochs" }
        if momentum != nil { m["momentum"] = "--momentum" }
        if dropout != nil { m["dropout"] = "--dropout" }
        if miningEpoch != nil { m["mining_epoch"] = "--mining-epoch" }
        if topk != nil { m["topk"] = "--topk" }
        if hiddenChannels != nil { m["hidden_channels"] = "--hidden-channels" }
        if hiddenDim != nil { m["hidden_dim"] = "--hidden-dim" }
        if featureDim != nil { m["feature_dim"] = "--feature-dim" }
        if saveInterval != nil { m["save_interval"] = "--save-interval" }
        if maxIterations != nil { m["max_iterations"] = "--max-iterations" }
        return m
    }

    /// A configuration error about a value that came from a flag names the flag, not the YAML key.
    func namingFlags(_ error: Error) -> Error {
        guard case let PretrainConfig.ConfigError.invalid(key, detail) = error, let flag = flagsGiven[key] else { return error }
        var text = detail
        for (k, f) in flagsGiven where k != key { text = text.replacingOccurrences(of: k, with: f) }
        return CommandFailure("\(flag): \(text)")
    }

    func validate() throws {
        guard !(noMonitor && monitorData != nil) else { throw CommandFailure("give --monitor-data or --no-monitor, not both") }
        do { try monitorSettings.validate() } catch let e as KNNMonitorSettings.Invalid { throw CommandFailure(e.description) }
    }

    var monitorSettings: KNNMonitorSettings {
        var m = KNNMonitorSettings()
        m.enabled = !noMonitor
        m.data = monitorData
        m.every = monitorEvery
        m.samples = monitorSamples
        m.k = monitorK
        m.standardize = monitorStandardize
        return m
    }

    func run() throws {
        let collective: Collective
        do { collective = try Launch.collective() } catch { throw CommandFailure("\(error)") }
        do {
            try train(collective)
            collective.finish()
        } catch {
            guard collective.size > 1 else { throw namingFlags(error) }
            if error is ExitCode || error is DataParallelChecks.Mismatch {
                // Every rank stopped at the same point: rank 0 reports, all leave cleanly.
                collective.finish()
                if collective.rank == 0 { throw namingFlags(error) }
                throw ExitCode((error as? ExitCode)?.rawValue ?? 1)
            }
            collective.abort("\(namingFlags(error))", code: 1)
        }
    }

    func train(_ collective: Collective) throws {
        guard !(resume && overwrite) else { throw CommandFailure("give --resume or --overwrite, not both") }
        var c = try makeConfig()
        let workFlag = workDir != nil ? "--work-dir" : "work_dir"
        try OutputLocation.requireFolder(c.workDir, flag: workFlag)
        let device = try deviceOptions.makeDevice(rank: collective)
        try precisionOption.check(device)
        device.profilingEnabled = profile
        let folder = WorkFolder(c.workDir)
        let previous = folder.previousRun
        if !previous.isEmpty && !resume && !overwrite {
            throw CommandFailure("\(workFlag) \(c.workDir) holds another run (\(WorkFolder.list(previous))); "
                + "pass --resume to continue it or --overwrite to start over")
        }
        // Broken checkpoints are skipped quietly here: the resume itself warns about each one.
        if resume, let (url, stored) = PretrainCheckpoint.newestConfig(in: folder.url, warn: { _ in }) {
            var asked = try makeConfig(base: stored)
            asked.workDir = c.workDir // the folder resumed in, wherever the first run was started from
            try ResumeCheck.pretraining.require(asked, matches: stored, checkpoint: url)
            c = asked
        }
        let lead = collective.rank == 0
        if lead { print("pretraining \(c.method.rawValue) (\(c.stream.rawValue) stream) on \(device.name)") }
        if collective.size > 1 {
            print("rank \(collective.rank) of \(collective.size) on \(collective.hostname) (local rank \(collective.localRank)): \(device.name)")
        }
        let trainer = try Pretrainer(config: c, device: device, skipBadSamples: skipBadSamples, collective: collective)
        if overwrite && !previous.isEmpty && lead {
            try folder.clear()
            warn("note: --overwrite: deleted \(WorkFolder.list(previous)) from \(c.workDir)")
        }
        if lead {
            print("data \(c.dataPath): \(trainer.iterationsPerEpoch) iterations/epoch x \(c.numEpoch) epochs, batch \(c.batchSize)"
                + (collective.size > 1 ? " (\(collective.size) ranks x \(c.batchSize / collective.size))" : "") + ", queue \(c.queueSize)")
        }
        let signals = StopSignals()
        trainer.shouldStop = { signals.requested }
        trainer.tensorBoard = !noTensorBoard
        trainer.monitor = monitorSettings
        let summary = try trainer.run(resume: resume)
        signals.uninstall()
        if summary.stopped {
            let sig = signals.signal
            if lead { warn("stopped by \(sig == SIGINT ? "interrupt" : "SIGTERM"): checkpoint \(summary.checkpoint ?? "none"); continue with --resume") }
            throw ExitCode(128 + sig)
        }
        guard lead else { return }
        print(String(format: "done: %d iterations, %.3f s/iteration", summary.iterations, summary.secondsPerIteration))
        if collective.size > 1 {
            let t = collective.traffic, n = Double(max(summary.iterations, 1))
            print(String(format: "communication (rank 0): %.3f s/iteration in %d collectives, %.2f MB sent per iteration",
                         t.seconds / n, t.calls, Double(t.bytes) / n / 1e6))
        }
        if let last = summary.monitorTop1.last {
            let from = summary.untrainedMonitorTop1.map { String(format: "untrained %.1f%% -> ", $0 * 100) } ?? ""
            let rise = summary.untrainedMonitorTop1.map { String(format: " (%+.1f points)", (last - $0) * 100) } ?? ""
            print("kNN monitor: " + from + String(format: "last %.1f%%", last * 100) + rise
                  + "; compare encoders with `aimclr linear --standardize-features` and a --random-init of the same widths")
        }
        if let ckpt = summary.checkpoint { print("checkpoint: \(ckpt)") }
        if profile { printProfile(device.profile()) }
    }

    func warn(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
