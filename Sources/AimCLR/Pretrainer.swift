import Compute
import DataParallel
import Foundation
import NN
import Skeleton

/// What a pretraining run did.
public struct PretrainSummary: Codable, Sendable {
    public var device: String
    public var epochs: Int
    public var iterations: Int
    public var firstEpochLoss: LossTerms?
    public var lastEpochLoss: LossTerms?
    public var secondsPerIteration: Double
    public var checkpoint: String?
    /// The run stopped early on request (a signal); `checkpoint` holds where it stood.
    public var stopped = false
    /// The kNN monitor's top-1 at each epoch it measured, in order (empty without a monitor).
    public var monitorTop1: [Double] = []
    /// The kNN monitor's top-1 of the untrained query encoder, measured before the first update of
    /// a fresh run (nil on a resume or without a monitor): the baseline the epochs are read against.
    public var untrainedMonitorTop1: Double?
}

/// Runs AimCLR (or SkeletonCLR) pretraining: data, model, schedule, logs, checkpoints, resume.
public final class Pretrainer {
    public let config: PretrainConfig
    public let device: Device
    public let model: AimCLRModel
    let loader: BatchLoader
    let workDirectory: URL
    let progress = ProgressReporter()
    /// Where warnings and notices go (standard error by default).
    public var warn: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }
    /// Asked after every iteration; true ends the run there with a checkpoint (Ctrl-C, SIGTERM).
    public var shouldStop: () -> Bool = { false }
    /// The command line recorded in the log's header record and in every checkpoint.
    public var commandLine: [String] = CommandLine.arguments
    /// Write TensorBoard scalars to `WORK_DIR/tensorboard/` (loss terms and lr per iteration,
    /// epoch means and iterations/s per epoch).
    public var tensorBoard = true
    /// The kNN top-1 measured during training (see `KNNMonitorSettings`).
    public var monitor = KNNMonitorSettings()
    /// The untrained query encoder's kNN top-1 and representation rank (a fresh run with a
    /// monitor): the reference of the collapse assessments.
    var untrainedBackbone: BackboneReading?
    /// The monitor's latest reading of the trained encoder.
    var latestBackbone: BackboneReading?
    /// Whether the last health record found the projections collapsed: the first epoch of a
    /// collapse runs the monitor even when it is not due, so the verdict reads the backbone as it is.
    var projectionsCollapsed = false
    /// The training samples as loaded (after skipped bad samples): the kNN monitor's memory bank.
    let trainingData: NpyArray
    let trainingLabels: [Int]
    let trainingNames: [String]
    /// The ranks of a data-parallel run; only rank 0 writes files and prints progress.
    public let collective: Collective
    var writesFiles: Bool { collective.rank == 0 }

    /// - Parameter skipBadSamples: train without samples holding NaN/Inf (each is named in a
    ///   warning) instead of refusing the data set. Those samples are then copied into memory.
    ///   `collective`: the ranks the global batch (`batch_size`) is split over; each builds and
    ///   computes its contiguous part of every batch.
    public init(config: PretrainConfig, device: Device, skipBadSamples: Bool = false,
                collective: Collective = SingleProcess(),
                warn: @escaping (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }) throws {
        try config.validate()
        self.config = config
        self.collective = collective
        progress.silent = collective.rank != 0
        self.device = device
        self.warn = warn
        var data = try NpyArray.read(config.dataPath)
        let labels = try LabelFile.read(config.labelPath)
        guard labels.labels.count == data.shape.first ?? 0 else {
            throw PretrainConfig.ConfigError.invalid(
                key: "label_path", detail: "\(config.labelPath) has \(labels.labels.count) labels but \(config.dataPath) has \(data.shape.first ?? 0) samples")
        }
        var trainLabels = labels.labels
        var trainNames = labels.names
        let bad = DataScan.nonFiniteRows(data)
        if !bad.isEmpty {
            let scan = DataScan.NonFiniteSamples(file: config.dataPath, samples: bad.map { ($0, labels.names[$0]) })
            guard skipBadSamples else { throw scan }
            for (i, name) in scan.samples { warn("warning: \(config.dataPath): skipping sample \(name) (index \(i)): NaN or infinite values") }
            (data, trainLabels) = DataScan.dropping(bad, from: data, labels: labels.labels)
            let dropped = Set(bad)
            trainNames = trainNames.indices.filter { !dropped.contains($0) }.map { trainNames[$0] }
        }
        let layout = try SkeletonLayout.resolve(config.layout)
        guard data.shape.count == 5, data.shape[1] == config.inChannels, data.shape[3] == layout.jointCount else {
            throw PretrainConfig.ConfigError.invalid(
                key: "data_path", detail: "\(config.dataPath) has shape \(data.shape); expected (N, \(config.inChannels), T, \(layout.jointCount), M) for layout \(layout.name)"
                    + (data.shape.count == 5 && data.shape[3] == 20 ? " (20 joints: pass --layout kinect-v1 or set layout: kinect-v1)" : ""))
        }
        guard data.shape[0] >= config.batchSize else {
            throw PretrainConfig.ConfigError.invalid(
                key: "batch_size", detail: "\(config.batchSize) is larger than the \(data.shape[0]) samples of \(config.dataPath) (drop_last would leave no batch)")
        }
        var augment = AugmentationConfig()
        augment.shearAmplitude = config.shearAmplitude
        augment.paddingRatio = config.temporalPaddingRatio
        augment.extremeTimeFlip = config.extremeTimeFlip
        augment.flipPermutation = layout.flip
        let mode: BatchLoader.Mode = .pretrain(AugmentationDraws(seed: config.seed, config: augment))
        loader = try BatchLoader(data: data, labels: trainLabels, batchSize: config.batchSize, shuffle: true,
                                 dropLast: true, seed: config.seed, mode: mode, stream: config.stream, layout: layout)
        try loader.setShard(index: collective.rank, count: collective.size)
        model = try AimCLRModel(config: config, device: device, adjacency: SpatialGraph(layout: layout).adjacency,
                                joints: layout.jointCount, frames: data.shape[2], persons: data.shape[4],
                                collective: collective)
        workDirectory = URL(fileURLWithPath: config.workDir)
        trainingData = data; trainingLabels = trainLabels; trainingNames = trainNames
    }

    /// The pre-flight notes on this run's recipe (see `RecipeCheck`).
    public var recipeNotes: [String] { RecipeCheck.notes(config, samples: trainingLabels.count) }

    /// The kNN monitor of this run, or nil when off or without a labelled part to test on.
    func makeMonitor() throws -> KNNMonitor? {
        try monitor.validate()
        guard let folder = monitor.folder(trainingData: config.dataPath) else { return nil }
        let layout = try SkeletonLayout.resolve(config.layout)
        let test = try EvaluationSet.open(directory: folder, part: .val)
        try test.requireJoints(of: layout)
        try DataScan.requireFinite(test.positions, names: test.names)
        let bank = try EvaluationSet(positions: trainingData, labels: trainingLabels, names: trainingNames, source: config.dataPath)
        guard test.frames == bank.frames, test.persons == bank.persons else {
            throw EvaluationError.shape(what: test.source, detail: "monitor data has T \(test.frames), M \(test.persons) "
                + "but the training data has T \(bank.frames), M \(bank.persons)")
        }
        return try KNNMonitor(bank: bank, test: test, settings: monitor)
    }

    /// Embedding statistics of the last step's batch: q, k and the normal view's logits, read back once.
    func measureHealth() -> EmbeddingHealth {
        EmbeddingHealth.measure(query: device.read(model.q), key: device.read(model.k), rows: model.localBatch,
                                dimension: config.featureDim, logits: device.read(model.objective.lastLogits),
                                negatives: config.queueSize)
    }

    /// Iterations per epoch (after the optional cap).
    public var iterationsPerEpoch: Int {
        config.maxIterationsPerEpoch > 0 ? min(loader.batchCount, config.maxIterationsPerEpoch) : loader.batchCount
    }

    /// Fills the queue once with keys of the untrained key encoder, from the key views of an
    /// epoch the training never draws (epoch 0), so the training batches stay as without warm-up.
    func warmUpQueue() throws {
        let needed = config.queueSize / config.batchSize
        var filled = 0
        while filled < needed {
            for batch in loader.batches(epoch: -filled) {
                if filled == needed { break }
                try model.enqueueKeys(of: batch.key)
                filled += 1
            }
        }
        progress.finish("queue warm-up: \(config.queueSize) keys from \(needed) batches of the untrained key encoder")
    }

    /// Trains from the start, or from the newest readable checkpoint in the work folder when `resume`.
    @discardableResult
    public func run(resume: Bool) throws -> PretrainSummary {
        if writesFiles {
            try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            CheckpointFiles.removeStaleTemporaries(in: workDirectory)
        }
        try DataParallelChecks.requireSameRun(config: config, samples: trainingLabels.count, resume: resume,
                                              collective: collective)
        var startEpoch = 1
        // Batches of the first epoch that a stopped run already trained (skipped, same order).
        var skip = 0
        var resumedFrom: String?
        if resume {
            if let state = try PretrainCheckpoint.resumeLatest(in: workDirectory, into: model, warn: warn) {
                startEpoch = state.epoch + 1
                skip = state.partialIterations
                resumedFrom = "epoch \(state.epoch)" + (skip > 0 ? " + \(skip) iterations" : "")
                progress.finish("resumed from \(resumedFrom!) (iteration \(state.iteration))")
            } else {
                warn("note: no checkpoint in \(workDirectory.path); starting from scratch")
            }
        }
        try DataParallelChecks.requireSameState(model, when: "after loading the start state", collective: collective)
        if config.queueWarmup && startEpoch == 1 && model.iteration == 0 {
            try warmUpQueue()
        }
        let notes = recipeNotes
        if writesFiles { for note in notes { warn(note) } }
        // The kNN monitor runs on rank 0 alone (evaluation mode, no collectives).
        let knnMonitor = writesFiles ? try makeMonitor() : nil
        // Ranks other than 0 write their logs nowhere.
        func sink(_ name: String) -> String { writesFiles ? workDirectory.appendingPathComponent(name).path : "/dev/null" }
        var detector = CollapseDetector(queueSize: config.queueSize, batchSize: config.batchSize)
        let provenance = Provenance(device: device.name, commandLine: commandLine)
        let log = try JSONLinesWriter(path: sink("log.jsonl"))
        try log.append(RunHeader(provenance: provenance, resumedFrom: resumedFrom, config: config, notes: notes))
        let text = try TextLog(path: sink("log.txt"))
        try text.line("aimclr \(provenance.version) (commit \(provenance.commit)) on \(provenance.host), device \(device.name)"
            + (resumedFrom.map { ", resumed from \($0)" } ?? ""))
        try text.line("command: \(commandLine.joined(separator: " "))")
        for note in notes { try text.line(note) }
        if let m = knnMonitor {
            try text.line("kNN monitor: \(m.bank.count) samples of \(m.bank.source) as the memory bank, \(m.test.count) of "
                + "\(m.test.source) as the test set, every \(monitor.every) epoch(s)")
        }
        if writesFiles {
            try AtomicTextFile.write(try config.yaml(), to: workDirectory.appendingPathComponent("config.yaml").path, what: "the configuration")
        }
        if collective.size > 1 {
            try text.line("data parallel: \(collective.size) ranks, \(model.localBatch) samples each of the global batch \(config.batchSize)")
        }
        let board = tensorBoard && writesFiles ? TensorBoardWriter(directory: workDirectory.appendingPathComponent("tensorboard").path) : nil
        try board?.flush()
        // Saves a checkpoint with the run's provenance and points latest.safetensors at it.
        func checkpoint(epoch: Int, partialIterations: Int = 0, to url: URL) throws {
            guard writesFiles else { return }
            try log.flush()
            try board?.flush()
            try PretrainCheckpoint.save(model, epoch: epoch, partialIterations: partialIterations, provenance: provenance, to: url)
            try LatestCheckpoint.update(in: workDirectory, to: url)
        }
        let perEpoch = iterationsPerEpoch
        model.iterationsPerEpoch = perEpoch
        var summary = PretrainSummary(device: device.name, epochs: 0, iterations: 0, secondsPerIteration: 0)
        if let m = knnMonitor, startEpoch == 1 && model.iteration == 0 {
            let untrained = try recordUntrainedMonitor(m, log: log, text: text, board: board)
            summary.untrainedMonitorTop1 = untrained.top1
            untrainedBackbone = BackboneReading(top1: untrained.top1, rank: untrained.representationRank)
        }
        var lastCheckpoint: String?
        var trainedSeconds = 0.0, trainedIterations = 0
        let total = max(0, config.numEpoch - startEpoch + 1) * perEpoch

        training: for epoch in startEpoch...max(startEpoch, config.numEpoch) where epoch <= config.numEpoch {
            // The step schedule's lr for the epoch; during a warm-up, the lr of the epoch's last step.
            var lr = model.learningRate(epoch: epoch)
            var sums = (0.0, 0.0, 0.0)
            let epochStart = Date()
            var done = 0, trained = 0
            for batch in loader.batches(epoch: epoch) {
                if done == perEpoch { break }
                if skip > 0 { skip -= 1; done += 1; continue }
                let t0 = Date()
                let views = PretrainViews(extreme: batch.extreme, query: batch.query, key: batch.key)
                lr = model.learningRate(epoch: epoch)
                let losses = try model.step(views, epoch: epoch)
                let dt = Date().timeIntervalSince(t0)
                done += 1
                trained += 1
                trainedIterations += 1
                trainedSeconds += dt
                sums.0 += Double(losses.contrastive); sums.1 += Double(losses.d3mExtreme); sums.2 += Double(losses.d3mDropped)
                detector.record(contrastive: losses.contrastive, infoNCE: epoch <= config.miningEpoch)
                try log.append(IterationRecord(epoch: epoch, iteration: model.iteration, lr: lr, loss: losses.total,
                                          contrastive: losses.contrastive, d3mExtreme: losses.d3mExtreme,
                                          d3mDropped: losses.d3mDropped, seconds: dt))
                board?.add(step: model.iteration, [("train/loss", losses.total), ("train/contrastive", losses.contrastive),
                                                   ("train/d3m_extreme", losses.d3mExtreme), ("train/d3m_dropped", losses.d3mDropped),
                                                   ("train/lr", lr), ("train/seconds_per_iteration", Float(dt))])
                let rate = Double(trainedIterations) / trainedSeconds
                let remaining = Double(total - trainedIterations) / rate
                progress.update(String(format: "epoch %d/%d  iter %d/%d  loss %.4f (%@ %.4f, d3m %.4f/%.4f)  lr %g  %.2f it/s  ETA %@",
                                       epoch, config.numEpoch, done, perEpoch, losses.total,
                                       epoch <= config.miningEpoch ? "info" : "nnm", losses.contrastive,
                                       losses.d3mExtreme, losses.d3mDropped, lr, rate, ProgressReporter.duration(remaining)))
                if done < perEpoch && agreeToStop() {
                    let url = workDirectory.appendingPathComponent(CheckpointFiles.partialFileName(epoch: epoch, iterations: done))
                    try checkpoint(epoch: epoch - 1, partialIterations: done, to: url)
                    progress.finish("stopped in epoch \(epoch) after \(done) of \(perEpoch) iterations")
                    try text.line("stopped in epoch \(epoch) after \(done) of \(perEpoch) iterations; checkpoint \(url.lastPathComponent)")
                    lastCheckpoint = url.path
                    summary.stopped = true
                    break training
                }
            }
            let n = Double(max(trained, 1))
            let mean = LossTerms(contrastive: Float(sums.0 / n), d3mExtreme: Float(sums.1 / n), d3mDropped: Float(sums.2 / n))
            let seconds = Date().timeIntervalSince(epochStart)
            try log.append(EpochRecord(epoch: epoch, iterations: done, lr: lr, loss: mean.total, contrastive: mean.contrastive,
                                  d3mExtreme: mean.d3mExtreme, d3mDropped: mean.d3mDropped, seconds: seconds))
            if summary.firstEpochLoss == nil { summary.firstEpochLoss = mean }
            summary.lastEpochLoss = mean
            summary.epochs += 1
            let itPerSecond = seconds > 0 ? Double(trained) / seconds : 0
            let line = String(format: "epoch %d/%d  loss %.4f (%@ %.4f, d3m %.4f/%.4f)  lr %g  %d it in %@ (%.2f it/s)",
                              epoch, config.numEpoch, mean.total, epoch <= config.miningEpoch ? "info" : "nnm",
                              mean.contrastive, mean.d3mExtreme, mean.d3mDropped, lr, done,
                              ProgressReporter.duration(seconds), itPerSecond)
            progress.finish(line)
            try text.line(line)
            board?.add(step: epoch, [("epoch/loss", mean.total), ("epoch/contrastive", mean.contrastive),
                                     ("epoch/d3m_extreme", mean.d3mExtreme), ("epoch/d3m_dropped", mean.d3mDropped),
                                     ("epoch/lr", lr), ("epoch/iterations_per_second", Float(itPerSecond))])
            try DataParallelChecks.requireSameState(model, when: "after epoch \(epoch)", collective: collective)
            if trained > 0 && writesFiles {
                if let top1 = try recordHealth(epoch: epoch, monitor: knnMonitor, detector: detector, log: log, text: text,
                                               board: board) {
                    summary.monitorTop1.append(top1)
                }
            }
            try board?.flush()
            let stopping = epoch < config.numEpoch && agreeToStop()
            if epoch % config.saveInterval == 0 || epoch == config.numEpoch || stopping {
                let url = workDirectory.appendingPathComponent(CheckpointFiles.fileName(epoch: epoch))
                try checkpoint(epoch: epoch, to: url)
                if writesFiles { CheckpointFiles.removePartials(upTo: epoch, in: workDirectory) }
                lastCheckpoint = url.path
            }
            if stopping {
                progress.finish("stopped after epoch \(epoch)")
                try text.line("stopped after epoch \(epoch)")
                summary.stopped = true
                break training
            }
        }
        summary.iterations = trainedIterations
        summary.secondsPerIteration = trainedIterations > 0 ? trainedSeconds / Double(trainedIterations) : 0
        summary.checkpoint = lastCheckpoint ?? CheckpointFiles.candidates(in: workDirectory).first?.url.path
        return summary
    }
}

extension Pretrainer {
    /// A stop request (signal) seen by any rank stops every rank at the same iteration.
    func agreeToStop() -> Bool {
        guard collective.size > 1 else { return shouldStop() }
        var flag = [shouldStop() ? 1.0 : 0]
        collective.allReduceSum(&flag)
        return flag[0] > 0
    }

    /// The kNN top-1 of the query encoder before any update (epoch 0): a `"type": "monitor"` record,
    /// a `monitor 0:` line and `health/knn_top1` at step 0.
    func recordUntrainedMonitor(_ m: KNNMonitor, log: JSONLinesWriter, text: TextLog, board: TensorBoardWriter?) throws
        -> (top1: Double, representationRank: Double) {
        let started = Date()
        let (top1, rank) = try m.measure(encoder: model.encoderQ, batchSize: config.batchSize, stream: config.stream,
                                         layout: try SkeletonLayout.resolve(config.layout))
        let seconds = Date().timeIntervalSince(started)
        try log.append(UntrainedMonitorRecord(knnTop1: top1, representationRank: rank, knnSamples: [m.bank.count, m.test.count],
                                              monitorSeconds: seconds))
        let line = String(format: "monitor 0 (untrained encoder): kNN top-1 %.2f%%, representation rank %.1f of %d (%.2f s)",
                          top1 * 100, rank, config.hiddenDim, seconds)
        progress.finish(line)
        try text.line(line)
        board?.add(step: 0, [("health/knn_top1", Float(top1)), ("health/representation_rank", Float(rank))])
        return (top1, rank)
    }

    /// The epoch's health: embedding statistics of its last batch, the kNN top-1 when due (and at
    /// the first epoch the projections look collapsed), and the collapse assessment (a warning, or
    /// a note when only the projections collapsed); in every log and on the console.
    /// Returns the kNN top-1 when it was measured.
    @discardableResult
    func recordHealth(epoch: Int, monitor knnMonitor: KNNMonitor?, detector: CollapseDetector,
                      log: JSONLinesWriter, text: TextLog, board: TensorBoardWriter?) throws -> Double? {
        let health = measureHealth()
        let d = config.featureDim
        let reason = detector.verdict(health, dimension: d)
        var top1: Double?, rank: Double?, monitorSeconds: Double?
        let due = epoch % monitor.every == 0 || epoch == config.numEpoch || (reason != nil && !projectionsCollapsed)
        if let m = knnMonitor, due {
            let started = Date()
            let reading = try m.measure(encoder: model.encoderQ, batchSize: config.batchSize, stream: config.stream,
                                        layout: try SkeletonLayout.resolve(config.layout))
            monitorSeconds = Date().timeIntervalSince(started)
            (top1, rank) = (reading.top1, reading.representationRank)
            latestBackbone = BackboneReading(top1: reading.top1, rank: reading.representationRank)
        }
        projectionsCollapsed = reason != nil
        let assessment = CollapseAssessment.assess(epoch: epoch, reason: reason, backbone: latestBackbone, untrained: untrainedBackbone)
        let rankWarning = rank.flatMap { r in untrainedBackbone.flatMap { RepresentationRank.collapseWarning(epoch: epoch, rank: r, untrained: $0.rank) } }
        try log.append(HealthRecord(epoch: epoch, alignment: health.alignment, uniformity: health.uniformity,
                                    dimensionStd: health.dimensionStd, positiveLogit: health.positiveLogit,
                                    negativeLogit: health.negativeLogit,
                                    dimensionStdThreshold: CollapseDetector.stdThreshold(dimension: d),
                                    knnTop1: top1, representationRank: rank,
                                    representationCollapse: rank != nil && untrainedBackbone != nil ? rankWarning != nil : nil,
                                    knnSamples: top1 == nil ? nil : knnMonitor.map { [$0.bank.count, $0.test.count] },
                                    monitorSeconds: monitorSeconds, projectionCollapse: reason != nil, collapse: assessment.isCollapse,
                                    collapseReason: reason))
        var line = String(format: "health %d: align %.3f  unif %.3f  std %.4f (1/sqrt(d) %.4f)  logits pos %.2f neg %.2f",
                          epoch, health.alignment, health.uniformity, health.dimensionStd, 1 / Double(d).squareRoot(),
                          health.positiveLogit, health.negativeLogit)
        if let t = top1, let r = rank, let s = monitorSeconds {
            line += String(format: "  kNN top-1 %.2f%%  rank %.1f (%.2f s)", t * 100, r, s)
        }
        switch assessment {
        case .collapsed: line += "  COLLAPSE"
        case .projectionsOnly: line += "  projections collapsed, backbone not"
        case .spread: break
        }
        progress.finish(line)
        try text.line(line)
        var scalars: [(String, Float)] = [("health/alignment", Float(health.alignment)), ("health/uniformity", Float(health.uniformity)),
                                          ("health/dimension_std", Float(health.dimensionStd)),
                                          ("health/positive_logit", Float(health.positiveLogit)),
                                          ("health/negative_logit", Float(health.negativeLogit))]
        if let t = top1 { scalars.append(("health/knn_top1", Float(t))) }
        if let r = rank { scalars.append(("health/representation_rank", Float(r))) }
        board?.add(step: epoch, scalars)
        switch assessment {
        case .collapsed(let message), .projectionsOnly(let message):
            warn(message)
            try text.line(message)
        case .spread: break
        }
        if let warning = rankWarning {
            warn(warning)
            try text.line(warning)
        }
        return top1
    }
}

struct IterationRecord: Encodable {
    var type = "iteration"
    var epoch: Int, iteration: Int, lr: Float, loss: Float
    var contrastive: Float, d3mExtreme: Float, d3mDropped: Float, seconds: Double
}

struct EpochRecord: Encodable {
    var type = "epoch"
    var epoch: Int, iterations: Int, lr: Float, loss: Float
    var contrastive: Float, d3mExtreme: Float, d3mDropped: Float, seconds: Double
}
