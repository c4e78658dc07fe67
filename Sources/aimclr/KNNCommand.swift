import AimCLR
import ArgumentParser
import DataParallel
import Foundation

/// `aimclr knn`: weighted kNN on the encoder's representations (spec §5.4).
struct KNNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knn",
        abstract: "kNN evaluation: cosine k-nearest neighbours of test representations among training ones.",
        discussion: """
        SimSiam knn_monitor semantics: representations (the 256-d pooled features, eval mode, no \
        augmentation) are L2-normalised; each test sample takes the k most similar training samples \
        and each votes for its class with weight exp(s / T). Writes OUT/knn_result.json and OUT/tensorboard (--no-tensorboard skips it).
        """)

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var evaluation: EvaluationOptions

    @Option(parsing: .unconditional, help: "Neighbours.") var k: Int = 200
    @Option(help: "Vote temperature T (weight exp(s / T)).") var temperature: Float = 0.1
    @Flag(name: .customLong("standardize-features"),
          help: "Standardise each feature dimension with the memory bank's mean and std before the L2 normalisation (not in the reference protocol).")
    var standardizeFeatures = false

    func validate() throws {
        guard k >= 1 else { throw CommandFailure("--k must be at least 1 (got \(k))") }
        guard temperature.isFinite, temperature > 0 else { throw CommandFailure("--temperature must be positive (got \(temperature))") }
    }

    func run() throws {
        try RankedRun.run(evaluate)
    }

    /// Under N ranks each computes its share of the representations; rank 0 votes and writes.
    func evaluate(_ collective: Collective) throws {
        let lead = collective.rank == 0
        let device = try deviceOptions.makeDevice(rank: collective)
        let provenance = Provenance(device: device.name)
        let board = lead ? evaluation.tensorBoard() : nil
        let (train, test) = try evaluation.openSets()
        let loaded = try evaluation.loadEncoder(classes: max(1, try evaluation.classCount(train, test)), device: device)
        if lead && k > train.count {
            FileHandle.standardError.write(Data("warning: --k \(k) exceeds the \(train.count) samples of the memory bank; all \(train.count) vote\n".utf8))
        }
        let started = Date()
        let extractor = FeatureExtractor(encoder: loaded.encoder, batchSize: evaluation.batchSize, stream: evaluation.skeletonStream,
                                         layout: try evaluation.skeletonLayout(), progress: ProgressReporter())
        extractor.progress?.silent = !lead
        extractor.collective = collective
        let bank = try extractor.representations(of: train, label: "features train")
        let queries = try extractor.representations(of: test, label: "features test")
        guard lead else { return }
        let knn = KNNClassifier(k: k, temperature: temperature, standardize: standardizeFeatures)
        let report = try knn.evaluate(bank: bank, test: queries, device: device)
        var summary = EvaluationSummary(protocolName: "knn", dataset: evaluation.data, trainSplit: evaluation.trainPart,
                                        testSplit: evaluation.testPart, stream: evaluation.stream.rawValue,
                                        checkpoint: evaluation.source.summary, encoder: loaded.kind,
                                        hyperParameters: ["k": "\(k)", "temperature": "\(temperature)",
                                                          "feature": "pooled \(bank.dimension)-d representation, " + (standardizeFeatures ? "standardised with the bank's per-dimension mean and std, then " : "") + "L2-normalised",
                                                          "batch_size": "\(evaluation.batchSize)"],
                                        report: report, seconds: Date().timeIntervalSince(started), device: device.name)
        summary.provenance = provenance
        board?.add(step: 0, [("knn/top1", Float(report.top1)), ("knn/top5", Float(report.top5))])
        try reportingErrors("--out \(evaluation.out)") { try board?.flush() }
        print("\nkNN (k \(k), T \(temperature)): top-1 \(EvaluationOutput.percent(report.top1))  top-5 \(EvaluationOutput.percent(report.top5))")
        print(ClassificationMetrics.compactText(report))
        print("result: \(try reportingErrors("--out \(evaluation.out)") { try summary.write(to: evaluation.out) })")
    }
}
