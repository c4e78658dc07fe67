import Compute
import Foundation
import NN
import Skeleton

/// How an `aimclr train` run ended.
public struct SupervisedTrainingResult {
    /// Best and last evaluation, history, best logits and weights; nil when the run was stopped.
    public var outcome: ClassifierTrainingOutcome?
    /// Where a stopped run stood.
    public var stoppedState: ClassifierTrainingState?
    /// The newest checkpoint this run wrote (nil when it wrote none).
    public var checkpoint: String?
    /// "epoch 3" or "epoch 3 + 5 iterations" when resumed.
    public var resumedFrom: String?
}

/// Supervised training of the ST-GCN classifier from scratch (the baseline of the
/// self-supervised papers): a randomly initialised encoder and classifier trained together in
/// train mode on the labelled training part, evaluated on the test part every `evalInterval`
/// epochs, with a checkpoint after every epoch, logs and TensorBoard scalars in the work folder,
/// and a resume that continues exactly where a stopped run stood.
public final class SupervisedTrainer {
    public let config: SupervisedTrainingConfig
    public let device: Device
    public let layout: SkeletonLayout
    public let trainSet: EvaluationSet
    public let testSet: EvaluationSet
    public let classes: Int
    public let encoder: STGCN
    /// Where warnings and notices go (standard error by default).
    public var warn: (String) -> Void
    /// Asked after every step; true ends the run there with a checkpoint (Ctrl-C, SIGTERM).
    public var shouldStop: () -> Bool = { false }
    /// The command line recorded in the log's header record and in every checkpoint.
    public var commandLine: [String] = CommandLine.arguments
    /// Write TensorBoard scalars to `WORK_DIR/tensorboard/`.
    public var tensorBoard = true
    let progress = ProgressReporter()
    let workDirectory: URL

    public init(config: SupervisedTrainingConfig, device: Device,
                warn: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws {
        try config.validate()
        self.config = config
        self.device = device
        self.warn = warn
        layout = try SkeletonLayout.resolve(config.layout)
        let train = try EvaluationSet.open(directory: config.data, part: config.trainPart)
        let test = try EvaluationSet.open(directory: config.data, part: config.testPart)
        for set in [train, test] {
            try set.requireJoints(of: layout)
            try DataScan.requireFinite(set.positions, names: set.names)
        }
        let needed = max(train.classCount, test.classCount)
        if let n = config.numClass, n < needed {
            let set = train.classCount == needed ? train : test
            throw EvaluationError.invalidSetting(name: "num class", detail: "\(n) is too few: \(set.source) has labels up to \(needed - 1) (\(needed) classes)")
        }
        classes = config.numClass ?? needed
        trainSet = train
        testSet = test
        encoder = try EncoderLoader.load(.randomInit(seed: config.training.seed), layout: layout, numClass: classes, device: device,
                                         randomShape: config.shape, headSeed: config.training.seed, dropout: config.dropout).encoder
        workDirectory = URL(fileURLWithPath: config.workDir)
    }

    /// Training steps per epoch (`drop_last` unless the set is smaller than a batch).
    public var iterationsPerEpoch: Int {
        let n = trainSet.count, b = config.training.batchSize
        return n >= b ? n / b : 1
    }

    /// Trains from the start, or from the newest readable checkpoint in the work folder when `resume`.
    public func run(resume: Bool) throws -> SupervisedTrainingResult {
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        CheckpointFiles.removeStaleTemporaries(in: workDirectory)
        var result = SupervisedTrainingResult()
        var start: ClassifierTrainingState?
        if resume {
            if let (url, state) = SupervisedCheckpoint.resumeLatest(in: workDirectory, into: encoder, testLabels: testSet.labels, warn: warn) {
                start = state
                result.resumedFrom = "epoch \(state.completedEpochs)" + (state.isPartial ? " + \(state.partialBatches) iterations" : "")
                progress.finish("resumed from \(result.resumedFrom!) (\(url.lastPathComponent))")
            } else {
                warn("note: no checkpoint in \(workDirectory.path); starting from scratch")
            }
        }
        let provenance = Provenance(device: device.name, commandLine: commandLine)
        let log = try JSONLinesWriter(path: workDirectory.appendingPathComponent("log.jsonl").path)
        try log.append(RunHeader(provenance: provenance, resumedFrom: result.resumedFrom, config: config))
        let text = try TextLog(path: workDirectory.appendingPathComponent("log.txt").path)
        try text.line("aimclr \(provenance.version) (commit \(provenance.commit)) on \(provenance.host), device \(device.name)"
            + (result.resumedFrom.map { ", resumed from \($0)" } ?? ""))
        try text.line("command: \(commandLine.joined(separator: " "))")
        try text.line(dataLine)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicTextFile.write(String(decoding: try pretty.encode(config), as: UTF8.self) + "\n",
                                 to: workDirectory.appendingPathComponent(Self.configFileName).path, what: "the configuration")
        let board = tensorBoard ? TensorBoardWriter(directory: workDirectory.appendingPathComponent("tensorboard").path) : nil
        try board?.flush()

        let trainer = try ClassifierTrainer(encoder: encoder, config: config.training, mode: .wholeNetwork,
                                            stream: config.stream, layout: layout)
        trainer.progress = progress
        trainer.shouldStop = shouldStop
        // Saves a checkpoint with the run's provenance and points latest.safetensors at it.
        func checkpoint(_ state: ClassifierTrainingState, name: String) throws {
            try log.flush()
            try board?.flush()
            let url = workDirectory.appendingPathComponent(name)
            try SupervisedCheckpoint.save(encoder, state: state, config: config, provenance: provenance, to: url)
            try LatestCheckpoint.update(in: workDirectory, to: url)
            result.checkpoint = url.path
        }
        let epochs = config.training.epochs
        trainer.onEpoch = { [self] e, state in
            let rate = e.seconds > 0 ? Double(e.batches) / e.seconds : 0
            try log.append(SupervisedEpochRecord(epoch: e.epoch, iterations: e.batches, lr: e.learningRate, loss: e.trainLoss,
                                                 seconds: e.seconds, top1: e.evaluation?.top1, top5: e.evaluation?.top5))
            var line = String(format: "epoch %d/%d  loss %.4f  lr %g  %d it in %@ (%.2f it/s)", e.epoch, epochs, e.trainLoss,
                              e.learningRate, e.batches, ProgressReporter.duration(e.seconds), rate)
            var scalars: [(String, Float)] = [("train/loss", Float(e.trainLoss)), ("train/lr", e.learningRate),
                                              ("train/iterations_per_second", Float(rate))]
            if let r = e.evaluation {
                line += String(format: "  top-1 %.2f%%  top-5 %.2f%%", r.top1 * 100, r.top5 * 100)
                scalars += [("eval/top1", Float(r.top1)), ("eval/top5", Float(r.top5))]
            }
            progress.finish(line)
            try text.line(line)
            board?.add(step: e.epoch, scalars)
            try checkpoint(state, name: CheckpointFiles.fileName(epoch: e.epoch))
            CheckpointFiles.removePartials(upTo: e.epoch, in: workDirectory)
            // The previous epoch's checkpoint was kept for a resume; off the save interval it goes now.
            let previous = e.epoch - 1
            if previous >= 1 && previous % config.saveInterval != 0 {
                unlink(workDirectory.appendingPathComponent(CheckpointFiles.fileName(epoch: previous)).path)
            }
        }
        trainer.onStop = { [self] state in
            let epoch = state.completedEpochs + 1
            let name = CheckpointFiles.partialFileName(epoch: epoch, iterations: state.partialBatches)
            try checkpoint(state, name: name)
            let line = "stopped in epoch \(epoch) after \(state.partialBatches) of \(iterationsPerEpoch) iterations; checkpoint \(name)"
            progress.finish(line)
            try text.line(line)
        }
        switch try trainer.train(train: trainSet, test: testSet, from: start) {
        case .finished(let outcome):
            try log.append(SupervisedResultRecord(bestEpoch: outcome.bestEpoch, bestTop1: outcome.best.top1, bestTop5: outcome.best.top5,
                                                  lastEpoch: outcome.lastEpoch, lastTop1: outcome.last.top1, lastTop5: outcome.last.top5,
                                                  seconds: outcome.seconds))
            try text.line(String(format: "done: best top-1 %.2f%% (epoch %d), last top-1 %.2f%% (epoch %d), %@",
                                 outcome.best.top1 * 100, outcome.bestEpoch, outcome.last.top1 * 100, outcome.lastEpoch,
                                 ProgressReporter.duration(outcome.seconds)))
            try log.flush()
            try board?.flush()
            result.outcome = outcome
        case .stopped(let state):
            if !state.isPartial {
                progress.finish("stopped after epoch \(state.completedEpochs)")
                try text.line("stopped after epoch \(state.completedEpochs)")
            }
            result.stoppedState = state
        }
        return result
    }

    /// The effective configuration, written into the work folder at every start.
    public static let configFileName = "config.json"

    /// What is trained on, for the console and log.txt.
    public var dataLine: String {
        let parameters = encoder.parameters.reduce(0) { $0 + $1.count }
        return "data \(config.data): \(trainSet.count) training samples (\(config.trainPart.rawValue)), \(testSet.count) test "
            + "(\(config.testPart.rawValue)), \(classes) classes, T \(trainSet.frames), \(layout.jointCount) joints (\(layout.name)), "
            + "M \(trainSet.persons), \(config.stream.rawValue) stream; encoder hidden \(config.hiddenChannels), dim \(config.hiddenDim), "
            + "dropout \(config.dropout), \(parameters) parameters; \(iterationsPerEpoch) iterations/epoch x \(config.training.epochs) epochs"
    }
}

struct SupervisedEpochRecord: Encodable {
    var type = "epoch"
    var epoch: Int, iterations: Int, lr: Float, loss: Double, seconds: Double
    var top1: Double?, top5: Double?
}

struct SupervisedResultRecord: Encodable {
    var type = "result"
    var bestEpoch: Int, bestTop1: Double, bestTop5: Double
    var lastEpoch: Int, lastTop1: Double, lastTop5: Double
    var seconds: Double
}
