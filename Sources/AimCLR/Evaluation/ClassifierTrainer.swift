import Compute
import DataParallel
import Foundation
import NN
import Skeleton

/// Hyper-parameters of supervised training on top of an encoder (linear evaluation,
/// semi-supervised evaluation and fine-tuning share the reference processor's loop).
public struct ClassifierTrainingConfig: Codable, Sendable, Equatable {
    public var epochs: Int
    public var baseLR: Float
    /// Epochs after which the lr is multiplied by 0.1 (1-based, as `StepLRSchedule`).
    public var steps: [Int]
    public var momentum: Float = 0.9
    public var weightDecay: Float
    public var batchSize: Int = 128
    /// Evaluate every this many epochs, and at the last.
    public var evalInterval: Int = 5
    /// Global L2 gradient-norm clipping (nil: none).
    public var gradientClip: Float?
    /// Crop + shear on the training samples (BatchLoader `.augmented`).
    public var augment: Bool
    /// Seeds the shuffle, the augmentations, the dropout masks and the classifier initialisation.
    public var seed: UInt64 = 0
    /// Mode of the model during the training steps (evaluations always run in eval mode).
    public var modelMode: ClassifierModelMode = .eval
    /// Nesterov momentum (the supervised ST-GCN recipe); the reference evaluation protocols use plain SGD.
    public var nesterov = false

    public init(epochs: Int, baseLR: Float, steps: [Int], weightDecay: Float, gradientClip: Float? = nil, augment: Bool = false) {
        self.epochs = epochs; self.baseLR = baseLR; self.steps = steps; self.weightDecay = weightDecay
        self.gradientClip = gradientClip; self.augment = augment
    }

    public func validate() throws {
        func need(_ ok: Bool, _ name: String, _ why: String) throws {
            if !ok { throw EvaluationError.invalidSetting(name: name, detail: why) }
        }
        try need(epochs > 0, "epochs", "must be positive (got \(epochs))")
        try need(batchSize > 0, "batch size", "must be positive (got \(batchSize))")
        try need(evalInterval > 0, "eval interval", "must be positive (got \(evalInterval))")
        try need(baseLR.isFinite && baseLR > 0, "learning rate", "must be positive (got \(baseLR))")
        if let c = gradientClip { try need(c > 0, "gradient clip", "must be positive (got \(c))") }
        try need(weightDecay.isFinite && weightDecay >= 0, "weight decay", "must be zero or positive (got \(weightDecay))")
        try need(momentum.isFinite && momentum >= 0 && momentum < 1, "momentum", "must be in [0, 1) (got \(momentum))")
        try need(steps.allSatisfy { $0 >= 1 }, "lr steps", "must be epochs of at least 1 (got \(steps))")
    }

    public var schedule: StepLRSchedule { StepLRSchedule(baseLearningRate: baseLR, milestones: steps) }
}

/// Mode of the model during training steps.
public enum ClassifierModelMode: String, Codable, Sendable {
    /// The reference evaluation protocols: BN running statistics frozen, no dropout.
    case eval
    /// Supervised training from scratch: BN normalises with batch statistics and updates its
    /// running statistics, dropout is active.
    case train
}

/// What a classifier is trained on.
public enum ClassifierTrainingMode: String, Codable, Sendable {
    /// Frozen encoder, features computed once; only the fc trains (the fast linear evaluation).
    case cachedFeatures = "cached-features"
    /// Frozen encoder run on every batch of every epoch; only the fc trains.
    case frozenEncoder = "frozen-encoder"
    /// Encoder and fc both train (semi-supervised evaluation and fine-tuning).
    case wholeNetwork = "whole-network"
}

/// One periodic evaluation.
public struct EvaluationRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var top1: Double
    public var top5: Double
    /// Mean training loss of that epoch.
    public var trainLoss: Double
    public var learningRate: Float
}

/// The outcome of a training run with periodic test evaluations.
public struct ClassifierTrainingOutcome: Sendable {
    public var history: [EvaluationRecord]
    /// The last epoch's evaluation.
    public var last: ClassificationReport
    public var lastEpoch: Int
    /// The evaluation with the best top-1 (the first on ties), selected on the test set as the reference does.
    public var best: ClassificationReport
    public var bestEpoch: Int
    /// Logits (N, classes) of the best evaluation, in test-set order.
    public var bestLogits: [Float]
    /// The encoder and classifier weights at the best evaluation, saved beside the last ones.
    public var bestState: [(name: String, tensor: HostTensor)]
    public var classes: Int
    public var seconds: Double
}

/// The supervised training loop of the reference evaluation processors: the model stays in
/// eval mode throughout (BN running statistics frozen, no dropout), SGD with momentum and the
/// step schedule, softmax cross-entropy, shuffled training batches with `drop_last`, and the
/// test set evaluated every `evalInterval` epochs and at the last. With `modelMode = .train`
/// (whole network only) the steps run in train mode instead: supervised training from scratch.
///
/// A run can stop between two steps (`shouldStop`) and continue from a `ClassifierTrainingState`
/// with the weights and momentum of that moment; batch order, augmentations and dropout masks are
/// keyed by (seed, epoch, batch), so the continued run ends as the uninterrupted one.
public final class ClassifierTrainer {
    public let encoder: STGCN
    public let config: ClassifierTrainingConfig
    public let mode: ClassifierTrainingMode
    public let stream: SkeletonStream
    public let layout: SkeletonLayout
    public var progress: ProgressReporter?
    /// Called with each evaluation as it happens.
    public var onEvaluation: ((EvaluationRecord) -> Void)?
    /// Called after every epoch (and its evaluation, when due) with the state after it.
    public var onEpoch: ((ClassifierEpoch, ClassifierTrainingState) throws -> Void)?
    /// Asked after every step; true stops the run there (`onStop` gets the state inside an epoch,
    /// after an epoch `onEpoch` already had it).
    public var shouldStop: () -> Bool = { false }
    /// Called with the state of a run stopped inside an epoch.
    public var onStop: ((ClassifierTrainingState) throws -> Void)?
    /// Cached-feature path only: standardise the representations with the training part's
    /// per-dimension statistics before the fc (`FeatureStandardization`); the saved fc is folded
    /// back so that it reads the raw representations.
    public var standardizeFeatures = false
    /// The ranks of a data-parallel job (see `share(over:)`).
    public private(set) var collective: Collective = SingleProcess()
    private var gradientSum: StagedTensorSum?

    let device: Device
    let optimizer: SGD
    let clipper: GradientClipper?
    private var buffers: [Int: BatchBuffers] = [:]

    /// Per batch size: labels, loss and logit gradients, and the head activations of the
    /// cached-feature path.
    final class BatchBuffers {
        let labels: Tensor, loss: Tensor, dLogits: Tensor, features: Tensor
        let head: Head.Activations
        init(encoder: STGCN, samples: Int) throws {
            let d = encoder.device
            labels = try d.makeTensor([samples])
            loss = try d.makeTensor([1])
            dLogits = try d.makeTensor([samples, encoder.head.outFeatures])
            features = try d.makeTensor([samples, encoder.head.inFeatures])
            head = try encoder.head.makeRepresentationActivations(samples: samples)
        }
    }

    public init(encoder: STGCN, config: ClassifierTrainingConfig, mode: ClassifierTrainingMode,
                stream: SkeletonStream = .joint, layout: SkeletonLayout = .ntuRGBD) throws {
        try config.validate()
        guard case .classifier = encoder.config.head else {
            throw EvaluationError.invalidSetting(name: "encoder head", detail: "the encoder needs a classifier head")
        }
        if config.modelMode == .train && mode != .wholeNetwork {
            throw EvaluationError.invalidSetting(name: "model mode", detail: "train mode needs the whole network trained (got \(mode.rawValue))")
        }
        self.encoder = encoder; self.config = config; self.mode = mode; self.stream = stream; self.layout = layout
        device = encoder.device
        let trainable: [Parameter]
        if mode == .wholeNetwork {
            encoder.setTrainable(true)
            trainable = encoder.parameters
        } else {
            encoder.setTrainable(false)
            encoder.head.setTrainable(true)
            trainable = encoder.head.parameters
        }
        optimizer = SGD(parameters: trainable, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov)
        clipper = config.gradientClip.map { GradientClipper(parameters: trainable, maxNorm: $0) }
    }

    /// Shares the work over `collective`'s ranks. Feature extractions (cached features,
    /// evaluations) are split by batches and all-gathered. Steps that run the encoder take the
    /// rank's slice of each global batch (the same global shuffle everywhere), weight its loss
    /// gradient by its share of the batch and average the gradients in one flat all-reduce, so
    /// SGD runs identically on every rank; in train mode every BN layer is synchronised and the
    /// dropout masks are drawn for the whole batch. The fc of the cached-feature path trains on
    /// every rank alike on the gathered features.
    public func share(over collective: Collective) throws {
        self.collective = collective
        let split = collective.size > 1 && mode != .cachedFeatures
        try encoder.synchronizeBatchNorm(over: split && config.modelMode == .train ? collective : nil)
        gradientSum = split ? StagedTensorSum(collective: collective) : nil
    }

    private func batchBuffers(_ n: Int) throws -> BatchBuffers {
        if let b = buffers[n] { return b }
        let b = try BatchBuffers(encoder: encoder, samples: n)
        buffers[n] = b
        return b
    }

    /// Trains on `train` and evaluates on `test`.
    public func run(train: EvaluationSet, test: EvaluationSet) throws -> ClassifierTrainingOutcome {
        try Self.finished(self.train(train: train, test: test))
    }

    /// Trains on `train` from `state` (nil: from the start) and evaluates on `test`; the encoder and
    /// its momentum buffers must be those of `state`. Ends early when `shouldStop` says so.
    public func train(train: EvaluationSet, test: EvaluationSet, from state: ClassifierTrainingState? = nil) throws -> ClassifierTrainingEnd {
        let classes = encoder.head.outFeatures
        for (set, what) in [(train, "training"), (test, "test")] {
            if let bad = set.labels.first(where: { $0 < 0 || $0 >= classes }) {
                throw EvaluationError.shape(what: set.source, detail: "\(what) label \(bad) outside the \(classes) classes of the classifier")
            }
        }
        if standardizeFeatures && mode != .cachedFeatures {
            throw EvaluationError.invalidSetting(name: "feature standardisation", detail: "needs cached features (got \(mode.rawValue))")
        }
        let started = Date()
        let extractor = FeatureExtractor(encoder: encoder, batchSize: config.batchSize, stream: stream, layout: layout,
                                         progress: progress)
        extractor.collective = collective
        if mode == .cachedFeatures {
            guard state == nil else {
                throw EvaluationError.invalidSetting(name: "training", detail: "cached-feature training does not resume")
            }
            var cachedTrain = try extractor.representations(of: train, label: "features train")
            var cachedTest = try extractor.representations(of: test, label: "features test")
            progress?.finish("features cached: train \(train.count) x \(cachedTrain.dimension), test \(test.count)")
            let standardization = standardizeFeatures ? FeatureStandardization(fitting: cachedTrain) : nil
            if let s = standardization {
                cachedTrain = s.apply(cachedTrain)
                cachedTest = s.apply(cachedTest)
            }
            var outcome = try run(trainFeatures: cachedTrain, testFeatures: cachedTest)
            if let s = standardization {
                outcome.bestState = s.fold(state: outcome.bestState)
                try encoder.loadClassifierState(s.fold(state: encoder.classifierState()))
            }
            outcome.seconds = Date().timeIntervalSince(started)
            return .finished(outcome)
        }
        let augmentation: BatchLoader.Mode = config.augment
            ? .augmented(AugmentationDraws(seed: config.seed, config: { var a = AugmentationConfig(); a.flipPermutation = layout.flip; return a }()))
            : .plain
        let loader = try BatchLoader(data: train.positions, labels: train.labels, batchSize: config.batchSize, shuffle: true,
                                     dropLast: dropLast(train.count), seed: config.seed, mode: augmentation,
                                     stream: stream, layout: layout)
        if gradientSum != nil {
            guard config.batchSize % collective.size == 0, min(train.count, config.batchSize) >= collective.size else {
                throw EvaluationError.invalidSetting(name: "batch size", detail: "\(config.batchSize) (of \(train.count) training samples) "
                    + "does not split into \(collective.size) equal rank parts; use a batch size divisible by the ranks")
            }
            try loader.setShard(index: collective.rank, count: collective.size)
        }
        let perEpoch = loader.batchCount
        let total = config.epochs * perEpoch
        var trainedHere = 0 // batches this process trained (the rate and ETA of a resumed run)
        return try loop(started: started, batchCount: perEpoch, testLabels: test.labels, from: state, trainEpoch: { epoch, lr, state in
            let skip = state.partialBatches
            for batch in loader.batches(epoch: epoch) where batch.index >= skip {
                state.partialLossSum += try self.stepEncoder(batch, set: train, lr: lr, step: (epoch - 1) * perEpoch + batch.index)
                state.partialBatches += 1
                trainedHere += 1
                let remaining = total - (epoch - 1) * perEpoch - state.partialBatches
                self.progress?.update(String(format: "epoch %d/%d  batch %d/%d  lr %g  ", epoch, self.config.epochs,
                                             state.partialBatches, perEpoch, lr)
                    + ProgressReporter.rate(done: trainedHere, of: trainedHere + remaining, since: started, unit: "batches"))
                if state.partialBatches < perEpoch && self.shouldStop() { return true }
            }
            return false
        }, evaluate: { epoch in
            try extractor.logits(of: test, label: "evaluating epoch \(epoch)").values
        })
    }

    /// The outcome of a run that cannot have been stopped (no `shouldStop`).
    static func finished(_ end: ClassifierTrainingEnd) throws -> ClassifierTrainingOutcome {
        switch end {
        case .finished(let outcome): return outcome
        case .stopped(let state):
            throw EvaluationError.invalidSetting(name: "training", detail: "stopped after epoch \(state.completedEpochs)")
        }
    }

    /// Trains the fc alone on ready-made representations (the cached-feature path; the encoder
    /// is not run). Batches follow the same seeded order as the loader of `run(train:test:)`.
    public func run(trainFeatures train: FeatureSet, testFeatures test: FeatureSet) throws -> ClassifierTrainingOutcome {
        guard train.dimension == encoder.head.inFeatures, test.dimension == train.dimension else {
            throw EvaluationError.shape(what: "cached features",
                                        detail: "dimensions \(train.dimension) / \(test.dimension) vs the classifier's \(encoder.head.inFeatures)")
        }
        let classes = encoder.head.outFeatures
        if let bad = (train.labels + test.labels).first(where: { $0 < 0 || $0 >= classes }) {
            throw EvaluationError.shape(what: "cached features", detail: "label \(bad) outside the \(classes) classes of the classifier")
        }
        let batchCount = dropLast(train.count) ? train.count / config.batchSize : (train.count + config.batchSize - 1) / config.batchSize
        let started = Date(), total = config.epochs * batchCount
        return try Self.finished(loop(started: started, batchCount: batchCount, testLabels: test.labels, from: nil, trainEpoch: { epoch, lr, state in
            let order = Self.epochOrder(count: train.count, seed: self.config.seed, epoch: epoch)
            for b in 0..<batchCount {
                let idx = Array(order[(b * self.config.batchSize)..<min((b + 1) * self.config.batchSize, order.count)])
                state.partialLossSum += try self.stepCached(train, indices: idx, lr: lr)
                state.partialBatches += 1
                self.progress?.update(String(format: "epoch %d/%d  batch %d/%d  lr %g  ", epoch, self.config.epochs, b + 1, batchCount, lr)
                    + ProgressReporter.rate(done: (epoch - 1) * batchCount + b + 1, of: total, since: started, unit: "batches"))
            }
            return false
        }, evaluate: { _ in try self.classify(test) }))
    }

    /// `drop_last` as the reference train loader, unless the set is smaller than one batch.
    func dropLast(_ count: Int) -> Bool { count >= config.batchSize }

    /// The shuffled sample order of a 1-based epoch: the same Philox Fisher–Yates as `BatchLoader.order`.
    public static func epochOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var idx = Array(0..<count)
        guard count > 1 else { return idx }
        var s = DrawStream(seed: seed, epoch: epoch, sample: 0, rawView: 0xFFFF)
        for i in stride(from: count - 1, to: 0, by: -1) { idx.swapAt(i, s.int(0, i)) }
        return idx
    }

    /// Epochs, schedule, periodic evaluation and best/last bookkeeping around one epoch of training.
    /// `trainEpoch` trains the batches of an epoch not yet in the state, adding each to it, and
    /// returns true when it stopped inside the epoch.
    private func loop(started: Date, batchCount: Int, testLabels: [Int], from initial: ClassifierTrainingState?,
                      trainEpoch: (Int, Float, inout ClassifierTrainingState) throws -> Bool,
                      evaluate: (Int) throws -> [Float]) throws -> ClassifierTrainingEnd {
        guard batchCount > 0 else {
            throw EvaluationError.invalidSetting(name: "training", detail: "no training batch (empty training set)")
        }
        let classes = encoder.head.outFeatures
        var state = initial ?? ClassifierTrainingState()
        var epoch = state.completedEpochs + 1
        while epoch <= config.epochs {
            let lr = config.schedule.learningRate(epoch: epoch)
            let epochStart = Date()
            if try trainEpoch(epoch, lr, &state) {
                try onStop?(state)
                return .stopped(state)
            }
            let batches = state.partialBatches
            let meanLoss = state.partialLossSum / Double(max(batches, 1))
            guard meanLoss.isFinite else {
                throw EvaluationError.invalidSetting(name: "training", detail: "non-finite loss \(meanLoss) in epoch \(epoch) (lr \(lr))")
            }
            state.completedEpochs = epoch
            state.partialBatches = 0
            state.partialLossSum = 0
            var record: EvaluationRecord?
            if epoch % config.evalInterval == 0 || epoch == config.epochs {
                let logits = try evaluate(epoch)
                let report = ClassificationMetrics.report(scores: logits, classes: classes, labels: testLabels)
                let r = EvaluationRecord(epoch: epoch, top1: report.top1, top5: report.top5, trainLoss: meanLoss, learningRate: lr)
                state.history.append(r)
                onEvaluation?(r)
                if state.best == nil || report.top1 > state.best!.report.top1 {
                    state.best = .init(epoch: epoch, logits: logits, state: encoder.exportState(), report: report)
                }
                state.lastReport = report
                record = r
            }
            try onEpoch?(ClassifierEpoch(epoch: epoch, learningRate: lr, trainLoss: meanLoss, batches: batches,
                                         seconds: Date().timeIntervalSince(epochStart), evaluation: record), state)
            if epoch < config.epochs && shouldStop() { return .stopped(state) }
            epoch += 1
        }
        // A run resumed after its last epoch: the last evaluation again (eval mode, same weights).
        if state.lastReport == nil {
            state.lastReport = ClassificationMetrics.report(scores: try evaluate(config.epochs), classes: classes, labels: testLabels)
        }
        guard let best = state.best, let last = state.lastReport else {
            throw EvaluationError.invalidSetting(name: "training", detail: "no evaluation (0 epochs)")
        }
        return .finished(ClassifierTrainingOutcome(history: state.history, last: last, lastEpoch: state.history.last?.epoch ?? config.epochs,
                                                   best: best.report, bestEpoch: best.epoch, bestLogits: best.logits,
                                                   bestState: best.state, classes: classes, seconds: Date().timeIntervalSince(started)))
    }

    /// Runs the fc over cached representations (N, D) batch by batch; returns (N, classes) logits.
    public func classify(_ features: FeatureSet) throws -> [Float] {
        let classes = encoder.head.outFeatures, d = features.dimension
        var out = [Float](repeating: 0, count: features.count * classes)
        var start = 0
        while start < features.count {
            let n = min(config.batchSize, features.count - start)
            let b = try batchBuffers(n)
            features.values.withUnsafeBufferPointer { device.upload(UnsafeBufferPointer(rebasing: $0[(start * d)..<((start + n) * d)]), to: b.features) }
            encoder.head.forward(representation: b.features, activations: b.head)
            out.withUnsafeMutableBufferPointer { device.download(b.head.output, into: UnsafeMutableBufferPointer(rebasing: $0[(start * classes)..<((start + n) * classes)])) }
            start += n
        }
        return out
    }

    /// One SGD step of the fc on cached representations of `indices`; returns the batch loss.
    func stepCached(_ features: FeatureSet, indices: [Int], lr: Float) throws -> Double {
        let n = indices.count, d = features.dimension
        let b = try batchBuffers(n)
        var gathered = [Float](repeating: 0, count: n * d)
        features.values.withUnsafeBufferPointer { src in
            gathered.withUnsafeMutableBufferPointer { dst in
                for (i, idx) in indices.enumerated() {
                    (dst.baseAddress! + i * d).update(from: src.baseAddress! + idx * d, count: d)
                }
            }
        }
        gathered.withUnsafeBufferPointer { device.upload($0, to: b.features) }
        uploadLabels(indices.map { features.labels[$0] }, to: b.labels)
        encoder.zeroGradients()
        encoder.head.forward(representation: b.features, activations: b.head)
        device.softmaxCrossEntropy(logits: b.head.output, labels: b.labels, scale: 1, loss: b.loss, dLogits: b.dLogits)
        try encoder.head.backwardRepresentation(activations: b.head, dOutput: b.dLogits)
        return try update(lr: lr, loss: b.loss)
    }

    /// The dropout masks of training step `step` (0-based over the whole run) in train mode.
    public func dropoutKeys(step: Int) -> DropoutKeys {
        DropoutKeys(seed: config.seed, encoder: 0x53, site: 0, step: UInt32(truncatingIfNeeded: step))
    }

    /// One SGD step with the encoder run on the batch (frozen, or trained with the fc); `step`
    /// (0-based over the whole run) keys the dropout masks in train mode.
    func stepEncoder(_ batch: SkeletonBatch, set: EvaluationSet, lr: Float, step: Int) throws -> Double {
        let n = batch.indices.count
        let b = try batchBuffers(n)
        let whole = mode == .wholeNetwork
        // This rank's part of the global batch: its first sample and the batch's size, as the loader cut it.
        let globalSamples = gradientSum == nil ? n : min(config.batchSize, set.count - batch.index * config.batchSize)
        let part = (globalSamples + collective.size - 1) / collective.size
        encoder.batchPart = gradientSum == nil ? nil : (min(collective.rank * part, globalSamples), globalSamples)
        defer { encoder.batchPart = nil }
        let geometry = InputGeometry(samples: n, channels: encoder.config.inChannels, frames: set.frames,
                                     joints: set.joints, persons: set.persons)
        let context = try encoder.context(geometry, requiresGrad: whole, tag: 0x5452)
        batch.data.withUnsafeBufferPointer { device.upload($0, to: context.input) }
        uploadLabels(batch.labels, to: b.labels)
        encoder.zeroGradients()
        let head = try encoder.forward(context.input, context: context, training: config.modelMode == .train,
                                       dropout: dropoutKeys(step: step))
        // Weighted by the rank's share, the averaged gradients are those of the global batch's mean loss.
        let share = Float(n * collective.size) / Float(globalSamples)
        device.softmaxCrossEntropy(logits: head.output, labels: b.labels, scale: gradientSum == nil ? 1 : share,
                                   loss: b.loss, dLogits: b.dLogits)
        if whole {
            try encoder.backward(context: context, dOutput: b.dLogits)
        } else {
            try encoder.head.backwardRepresentation(activations: head, dOutput: b.dLogits)
        }
        return try update(lr: lr, loss: b.loss, weight: Double(n) / Double(globalSamples))
    }

    /// Averages the gradients over the ranks (when shared), clips, steps; returns the global batch's
    /// mean loss, the ranks' losses weighted by their shares (`weight`).
    private func update(lr: Float, loss: Tensor, weight: Double = 1) throws -> Double {
        if let gradientSum {
            let tensors = optimizer.parameters.filter { $0.trainable && $0.hasGradient }.map(\.gradient)
            gradientSum.sum(tensors, on: device, scale: 1 / Float(collective.size))
        }
        if let clipper { try clipper.clip() }
        try optimizer.step(learningRate: lr)
        try device.checkErrors()
        guard gradientSum != nil else { return Double(device.scalar(loss)) }
        var total = [Double(device.scalar(loss)) * weight]
        collective.allReduceSum(&total)
        return total[0]
    }

    private func uploadLabels(_ labels: [Int], to t: Tensor) {
        labels.map { Float($0) }.withUnsafeBufferPointer { device.upload($0, to: t) }
    }
}
