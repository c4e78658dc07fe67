import Foundation
import NN
import Skeleton
import TestSupport
@testable import AimCLR

/// Report inputs written by the engine's own writers from synthetic numbers: a run folder (log
/// with a header, epoch and iteration records, and a checkpoint header), a linear-evaluation
/// folder (result JSON, logits, labels) and test representations of well-separated classes.
struct ReportFixture {
    static let classes = 13
    static let classNames = SyntheticAction.allCases.map(\.name)
    static let queueSize = 256
    let root: URL
    var run: String { root.appendingPathComponent("run").path }
    var eval: String { root.appendingPathComponent("linear").path }
    var embeddings: String { root.appendingPathComponent("val_repr.npy").path }
    var labels: String { root.appendingPathComponent("val_label.pkl").path }
    var classNamesFile: String { root.appendingPathComponent("classes.txt").path }

    init() throws {
        root = ScratchPaths.make("report")
        try FileManager.default.createDirectory(atPath: root.appendingPathComponent("run").path, withIntermediateDirectories: true)
        var config = PretrainConfig()
        config.queueSize = Self.queueSize
        config.numEpoch = 8
        config.miningEpoch = 5
        config.steps = [6]
        config.baseLR = 0.01
        config.workDir = run
        let log = try JSONLinesWriter(path: run + "/log.jsonl")
        // 2026-01-01T00:00:00Z
        let provenance = Provenance(device: "CPU (synthetic)", commandLine: ["aimclr", "pretrain", "--config", "demo.yaml"],
                                    started: Date(timeIntervalSince1970: 1_767_225_600))
        try log.append(RunHeader(provenance: provenance, resumedFrom: nil, config: config))
        var iteration = 0
        for epoch in 1...config.numEpoch {
            let t = Float(epoch)
            let contrastive = 5.6 - 0.35 * t, extreme = 5.4 - 0.3 * t, dropped = 5.5 - 0.32 * t
            for _ in 0..<4 {
                iteration += 1
                try log.append(IterationRecord(epoch: epoch, iteration: iteration, lr: config.schedule.learningRate(epoch: epoch),
                                               loss: contrastive + (extreme + dropped) / 2, contrastive: contrastive,
                                               d3mExtreme: extreme, d3mDropped: dropped, seconds: 0.5))
            }
            try log.append(EpochRecord(epoch: epoch, iterations: 4, lr: config.schedule.learningRate(epoch: epoch),
                                       loss: contrastive + (extreme + dropped) / 2, contrastive: contrastive, d3mExtreme: extreme,
                                       d3mDropped: dropped, seconds: 2 + 0.1 * Double(epoch)))
        }
        try log.flush()
        try SafeTensors(entries: [("queue", HostTensor(shape: [2], floats: [0, 1]))],
                        metadata: ["format": PretrainCheckpoint.format, "epoch": "8", "iteration": "\(iteration)"])
            .write(to: URL(fileURLWithPath: run + "/epoch8_model.safetensors"))

        // Logits of a classifier that gets most samples right: class c scores highest on c, except every 5th sample.
        let samples = 130
        var logits = [Float](repeating: 0, count: samples * Self.classes)
        var trueLabels: [Int] = []
        for i in 0..<samples {
            let c = i % Self.classes
            trueLabels.append(c)
            let predicted = i % 5 == 4 ? (c + 1) % Self.classes : c
            for j in 0..<Self.classes { logits[i * Self.classes + j] = j == predicted ? 3 : Float((i + j) % 7) * 0.1 }
        }
        let names = (0..<samples).map { "S\($0)" }
        let report = ClassificationMetrics.report(scores: logits, classes: Self.classes, labels: trueLabels)
        var summary = EvaluationSummary(protocolName: "linear", dataset: "data/synthetic", trainSplit: "train", testSplit: "val",
                                        stream: "joint", checkpoint: run + "/epoch8_model.safetensors", encoder: "pretrain",
                                        hyperParameters: ["epochs": "20"], report: report, seconds: 1, device: "CPU (synthetic)")
        summary.history = (1...4).map { EvaluationRecord(epoch: $0 * 5, top1: 0.2 * Double($0), top5: min(1, 0.3 * Double($0)),
                                                        trainLoss: 2 / Double($0), learningRate: 3) }
        summary.best = EpochAccuracy(epoch: 20, top1: report.top1, top5: report.top5)
        try summary.write(to: eval)
        let logitsPath = eval + "/linear_best_logits.npy"
        try ScoreFile(logits: logits, classes: Self.classes, names: names, source: logitsPath).write(logitsPath: logitsPath, labels: trueLabels)

        let data = TSNETests.clusters(Self.classes, perCluster: 20, dimension: 16, seed: 5)
        try NpyArray(shape: [data.labels.count, 16], floats: data.points).write(to: embeddings)
        try LabelFile(names: data.labels.indices.map { "V\($0)" }, labels: data.labels).write(to: labels)
        try Self.classNames.joined(separator: "\n").write(toFile: classNamesFile, atomically: true, encoding: .utf8)
    }

    /// The report of all three inputs, t-SNE shortened for test time.
    func report() throws -> RunReport {
        var report = try RunReport.load(runDirectory: run, evaluationDirectories: [eval])
        let inputs = try RepresentationMap.readInputs(embeddings: embeddings, labels: labels)
        var tsne = TSNE()
        tsne.iterations = 500
        report.representations = RepresentationMap.compute(values: inputs.values, dimension: inputs.dimension,
                                                           labels: inputs.labels, maximumPoints: 2000, tsne: tsne)
        report.classNames = try ClassNames.resolve(count: report.classCount, file: classNamesFile)
        return report
    }
}
