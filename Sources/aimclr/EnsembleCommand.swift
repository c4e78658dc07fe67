import AimCLR
import ArgumentParser
import Foundation
import Skeleton

/// `aimclr ensemble`: the three-stream ensemble of saved logits (spec §5.3).
struct EnsembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Weighted sum of saved logits (3s-AimCLR: 0.6 joint + 0.6 bone + 0.4 motion).",
        discussion: """
        Each --logits file is an (N, classes) float32 .npy written by `aimclr linear` or `aimclr finetune`; \
        its sample names come from --names (one per --logits, a JSON list or a labels .pkl) or from \
        <stem>_names.json beside it. All lists must line up with the --labels file; the first mismatch is \
        reported. Raw logits are summed with the weights (no softmax) and the argmax is the prediction.
        """)

    @Option(parsing: .singleValue, help: "Logits .npy (repeat for each stream).") var logits: [String] = []
    @Option(parsing: .upToNextOption, help: "One weight per --logits file, e.g. 0.6 0.6 0.4.") var weights: [Float] = []
    @Option(parsing: .singleValue, help: "Sample-name file per --logits (JSON list or labels .pkl); default <stem>_names.json.")
    var names: [String] = []
    @Option(help: "Test labels pickle (e.g. val_label.pkl).") var labels: String
    @Option(help: "Output folder for ensemble_result.json (none: do not write).") var out: String?

    func validate() throws {
        guard !logits.isEmpty else { throw CommandFailure("give at least one --logits file") }
        guard weights.count == logits.count else {
            throw CommandFailure("\(logits.count) --logits files but \(weights.count) --weights")
        }
        guard names.isEmpty || names.count == logits.count else {
            throw CommandFailure("give one --names per --logits file, or none")
        }
        if let out { try OutputLocation.requireFolder(out, flag: "--out") }
    }

    func run() throws {
        let started = Date()
        let files = try logits.enumerated().map { i, path in
            try ScoreFile.read(logitsPath: path, namesPath: names.isEmpty ? nil : names[i])
        }
        let labelFile = try LabelFile.read(labels)
        let sum = try Ensemble.combine(files, weights: weights, labels: labelFile, labelsSource: labels)
        let classes = files[0].classes
        for (f, w) in zip(files, weights) {
            let single = ClassificationMetrics.report(scores: f.logits, classes: classes, labels: labelFile.labels)
            print("\(f.source) x \(w): top-1 \(EvaluationOutput.percent(single.top1))  top-5 \(EvaluationOutput.percent(single.top5))")
        }
        let report = ClassificationMetrics.report(scores: sum, classes: classes, labels: labelFile.labels)
        print("ensemble: top-1 \(EvaluationOutput.percent(report.top1))  top-5 \(EvaluationOutput.percent(report.top5))")
        if let out {
            var hp = ["weights": weights.map { "\($0)" }.joined(separator: " ")]
            for (i, path) in logits.enumerated() { hp["logits_\(i)"] = path }
            let summary = EvaluationSummary(protocolName: "ensemble", dataset: labels, trainSplit: nil, testSplit: labels,
                                            stream: nil, checkpoint: nil, encoder: nil, hyperParameters: hp, report: report,
                                            seconds: Date().timeIntervalSince(started), device: "host")
            print("result: \(try reportingErrors("--out \(out)") { try summary.write(to: out) })")
        }
    }
}
