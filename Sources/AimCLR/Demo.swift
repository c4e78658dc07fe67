import Compute
import Foundation
import NN
import Skeleton

/// The end-to-end demonstration behind `make demo`: synthetic data (written when absent), a short
/// AimCLR pretraining, then linear and kNN evaluation of the pretrained encoder and of a
/// randomly initialised one, summarised in a table.
public struct Demo {
    /// A reduced encoder and schedule sized so the whole demo finishes in minutes on two cores.
    public var pretrain: PretrainConfig
    public var linearEpochs = 100
    public var knnNeighbours = 200
    /// The second linear probe's lr, on standardised features (`FeatureStandardization`).
    public var standardizedLinearLR: Float = 0.1
    /// Pretraining seeds: each pretrains and is evaluated; the table gives each and the median.
    public var seeds: [UInt64] = [0, 1, 2]
    public var dataDirectory: String
    public var workDirectory: String

    public init(dataDirectory: String, workDirectory: String) {
        self.dataDirectory = dataDirectory
        self.workDirectory = workDirectory
        var c = PretrainConfig()
        c.hiddenChannels = 8
        c.hiddenDim = 64
        c.featureDim = 64
        c.batchSize = 32
        // K 128 rather than 256: over seeds 0-2 the kNN monitor rose +15.5 / +16.0 / +0.4 points from
        // the first epoch to the last, against +10.2 / +1.6 / -1.5 with 256.
        c.queueSize = 128
        c.numEpoch = 5
        // lr ×0.1 after epoch 3: at a constant lr the kNN accuracy of this short run swings
        // between epochs (21, 17, 20, 22, 15 % after epochs 1–5); with the step it ends near 20 %.
        c.steps = [3]
        c.miningEpoch = 4
        c.saveInterval = 5
        // A few hundred iterations instead of ~94,000: a short queue, a key encoder that follows
        // the query encoder within that horizon (the reference's 0.999 needs thousands), real
        // negatives from the first update on (with random ones the short run collapses), and the
        // learning rate that gave the best linear probe among 0.0002, 0.0005, 0.001, 0.003 and 0.01 (see
        // the README's small-data section).
        c.baseLR = 0.0005
        c.momentum = 0.99
        c.queueWarmup = true
        c.dataPath = dataDirectory + "/train_position.npy"
        c.labelPath = dataDirectory + "/train_label.pkl"
        c.workDir = workDirectory + "/pretrain"
        pretrain = c
    }

    /// One row of the result table.
    public struct Row: Codable, Sendable {
        public var encoder: String
        /// The reference linear protocol (raw features, lr 3.0): last and best evaluation.
        public var linearTop1: Double
        public var linearBestTop1: Double
        /// The same probe on standardised features (lr `standardizedLinearLR`), last evaluation.
        public var standardizedLinearTop1: Double
        public var knnTop1: Double
        /// The seed (of the pretraining, or of the random weights).
        public var seed: UInt64
        /// Pretrained rows: the kNN monitor's top-1 after each epoch; nil for random encoders.
        public var monitorTop1: [Double]?
        /// Pretrained rows: the monitor on the untrained encoder, before the first update.
        public var untrainedMonitorTop1: Double?
        public var isRandom: Bool { monitorTop1 == nil }
    }

    public struct Result: Codable, Sendable {
        public var device: String
        public var classes: Int
        public var trainSamples: Int
        public var testSamples: Int
        public var chance: Double
        public var pretrainSeconds: Double
        public var pretrainIterations: Int
        public var firstEpochLoss: Float?
        public var lastEpochLoss: Float?
        public var rows: [Row]
        public var totalSeconds: Double

        /// The pretrained rows (one per seed).
        public var pretrained: [Row] { rows.filter { !$0.isRandom } }
        /// The random encoders (one per seed, the same seeds).
        public var random: [Row] { rows.filter(\.isRandom) }
        /// Median of the pretrained rows' linear top-1 (last epoch).
        public var medianLinearTop1: Double? { Demo.median(pretrained.map(\.linearTop1)) }
        public var medianKNNTop1: Double? { Demo.median(pretrained.map(\.knnTop1)) }
    }

    public static func median(_ v: [Double]) -> Double? {
        guard !v.isEmpty else { return nil }
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// What the demo's report shows beyond the run folder: the pretrained encoder's evaluations
    /// and its test representations.
    public struct Details: Sendable {
        public var evaluations: [EvaluationSummary]
        public var testRepresentations: FeatureSet
    }

    public func run(device: Device, log: (String) -> Void) throws -> Result {
        try runWithDetails(device: device, log: log).result
    }

    public func runWithDetails(device: Device, log: (String) -> Void) throws -> (result: Result, details: Details?) {
        let start = Date()
        if !FileManager.default.fileExists(atPath: dataDirectory + "/val_label.pkl") {
            log("writing the synthetic dataset to \(dataDirectory)")
            _ = try SyntheticDataset.generate(SyntheticConfig(), to: dataDirectory)
        }
        let train = try EvaluationSet.open(directory: dataDirectory, part: .train)
        let test = try EvaluationSet.open(directory: dataDirectory, part: .val)
        let classes = (train.labels + test.labels).max().map { $0 + 1 } ?? 0
        var shape = EncoderShape()
        shape.hiddenChannels = pretrain.hiddenChannels
        shape.hiddenDim = pretrain.hiddenDim
        var rows: [Row] = []
        var details: Details?
        var pretrainSeconds = 0.0
        var first: PretrainSummary?
        for seed in seeds {
            var config = pretrain
            config.seed = seed
            if seed != seeds.first { config.workDir = pretrain.workDir + "-seed\(seed)" }
            log("pretraining AimCLR (seed \(seed)): hidden \(config.hiddenChannels)/\(config.hiddenDim), batch \(config.batchSize), "
                + "queue \(config.queueSize), \(config.numEpoch) epochs on \(device.name)")
            let pretrainStart = Date()
            let summary = try Pretrainer(config: config, device: device).run(resume: false)
            pretrainSeconds += Date().timeIntervalSince(pretrainStart)
            if first == nil { first = summary }
            guard let checkpoint = summary.checkpoint else {
                throw PretrainConfig.ConfigError.invalid(key: "work_dir", detail: "pretraining wrote no checkpoint")
            }
            log("evaluating the encoder of seed \(seed)")
            let (row, evaluation) = try evaluate(.checkpoint(path: checkpoint), name: "AimCLR seed \(seed)", seed: seed, train: train,
                                                 test: test, classes: classes, shape: shape, device: device)
            var pretrained = row
            pretrained.monitorTop1 = summary.monitorTop1
            pretrained.untrainedMonitorTop1 = summary.untrainedMonitorTop1
            rows.append(pretrained)
            if details == nil {
                // Named as the work folder was given (the checkpoint's own URL is absolute).
                let named = config.workDir + "/" + URL(fileURLWithPath: checkpoint).lastPathComponent
                details = evaluation.details(checkpoint: named, dataDirectory: dataDirectory, device: device.name)
            }
        }
        for seed in seeds {
            log("evaluating the random init encoder of seed \(seed)")
            rows.append(try evaluate(.randomInit(seed: seed), name: "random init seed \(seed)", seed: seed, train: train, test: test,
                                     classes: classes, shape: shape, device: device).row)
        }
        let result = Result(device: device.name, classes: classes, trainSamples: train.count, testSamples: test.count,
                      chance: classes > 0 ? 1 / Double(classes) : 0, pretrainSeconds: pretrainSeconds,
                      pretrainIterations: first?.iterations ?? 0, firstEpochLoss: first?.firstEpochLoss?.total,
                      lastEpochLoss: first?.lastEpochLoss?.total, rows: rows,
                      totalSeconds: Date().timeIntervalSince(start))
        return (result, details)
    }

    /// One encoder's linear probe (cached features) and kNN scores on the val part.
    struct Evaluation {
        var kind: String
        var linear: ClassifierTrainingConfig
        var outcome: ClassifierTrainingOutcome
        var knn: KNNClassifier
        var scores: [Float]
        var classes: Int
        var labels: [Int]
        var testFeatures: FeatureSet

        func details(checkpoint: String, dataDirectory: String, device: String) -> Details {
            let linearSummary = EvaluationSummary(
                protocolName: "linear", dataset: dataDirectory, trainSplit: "train", testSplit: "val", stream: "joint",
                checkpoint: checkpoint, encoder: kind, hyperParameters: EvaluationSummary.describe(linear, mode: .cachedFeatures),
                outcome: outcome, device: device)
            let knnSummary = EvaluationSummary(
                protocolName: "knn", dataset: dataDirectory, trainSplit: "train", testSplit: "val", stream: "joint",
                checkpoint: checkpoint, encoder: kind, hyperParameters: ["k": "\(knn.k)", "temperature": "\(knn.temperature)"],
                report: ClassificationMetrics.report(scores: scores, classes: classes, labels: labels), seconds: 0,
                device: device)
            return Details(evaluations: [linearSummary, knnSummary], testRepresentations: testFeatures)
        }
    }

    func evaluate(_ source: EncoderSource, name: String, seed: UInt64, train: EvaluationSet, test: EvaluationSet, classes: Int,
                  shape: EncoderShape, device: Device) throws -> (row: Row, evaluation: Evaluation) {
        let loaded = try EncoderLoader.load(source, layout: .ntuRGBD, numClass: classes, device: device, randomShape: shape)
        let extractor = FeatureExtractor(encoder: loaded.encoder, batchSize: 128)
        let trainFeatures = try extractor.representations(of: train)
        let testFeatures = try extractor.representations(of: test)
        var linear = ClassifierTrainingConfig.linearEvaluation
        linear.epochs = linearEpochs
        linear.steps = [linearEpochs * 4 / 5]
        // Both probes start from the same freshly initialised fc.
        let freshHead = loaded.encoder.classifierState()
        let classifier = try ClassifierTrainer(encoder: loaded.encoder, config: linear, mode: .cachedFeatures,
                                               stream: .joint, layout: .ntuRGBD)
        let outcome = try classifier.run(trainFeatures: trainFeatures, testFeatures: testFeatures)
        var standardizedConfig = linear
        standardizedConfig.baseLR = standardizedLinearLR
        let standardization = FeatureStandardization(fitting: trainFeatures)
        try loaded.encoder.loadClassifierState(freshHead)
        let standardized = try ClassifierTrainer(encoder: loaded.encoder, config: standardizedConfig, mode: .cachedFeatures,
                                                 stream: .joint, layout: .ntuRGBD)
            .run(trainFeatures: standardization.apply(trainFeatures), testFeatures: standardization.apply(testFeatures))
        let knn = KNNClassifier(k: min(knnNeighbours, train.count))
        let scores = try knn.scores(bank: trainFeatures, test: testFeatures, classes: classes, device: device)
        let knnTop1 = ClassificationMetrics.topK(scores: scores, classes: classes, labels: test.labels, k: 1)
        let row = Row(encoder: name, linearTop1: outcome.last.top1, linearBestTop1: outcome.best.top1,
                      standardizedLinearTop1: standardized.last.top1, knnTop1: knnTop1, seed: seed)
        return (row, Evaluation(kind: loaded.kind, linear: linear, outcome: outcome, knn: knn, scores: scores,
                                classes: classes, labels: test.labels, testFeatures: testFeatures))
    }
}
