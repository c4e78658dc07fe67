import AimCLR
import ArgumentParser
import Foundation

/// `aimclr report`: one self-contained HTML page about a pretraining run and its evaluations.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report (inline SVG, no scripts) of a pretraining run and its evaluations.",
        discussion: """
        RUN_DIR is a pretraining work folder: its log.jsonl gives the configuration and provenance (the \
        header of every start and resume) and the per-epoch loss terms (InfoNCE or NNM, D3M, total; the \
        dashed line is the chance level ln(K+1), K the queue size), learning rate and throughput; its newest \
        checkpoint's header adds epoch, iteration and checksum.

        Each EVAL_DIR is the --out folder of `aimclr linear`, `finetune`, `knn` or `ensemble`: its \
        *_result.json gives the headline, the accuracy per evaluated epoch, and the confusion matrix and \
        per-class accuracy (recomputed from <protocol>_best_logits.npy and its _labels.pkl when present).

        --embeddings takes the (N, D) .npy that `aimclr embed --output representation` writes for a test \
        part, with --labels that part's label pickle (e.g. DATA/val_label.pkl); the report then draws a \
        seeded t-SNE of them (L2-normalised; exact up to 1000 points, Barnes-Hut above), on a random subset \
        of --tsne-points samples.

        Class names come from --class-names (one per line, or a JSON list), else the NTU RGB+D 60 action \
        names when there are 60 classes, else "class i".
        """)

    @Argument(help: ArgumentHelp("Pretraining work folder (holds log.jsonl and the checkpoints).", valueName: "RUN_DIR"))
    var runDirectory: String
    @Argument(help: ArgumentHelp("Evaluation output folders.", valueName: "EVAL_DIR")) var evaluationDirectories: [String] = []
    @Option(help: "Output HTML file.") var out: String = "report.html"
    @Option(help: "Test representations (N, D) .npy from `aimclr embed`.") var embeddings: String?
    @Option(help: "Label pickle of the embedded samples.") var labels: String?
    @Option(name: .customLong("class-names"), help: "Class names: one per line, or a JSON list.") var classNames: String?
    @Option(name: .customLong("tsne-points"), parsing: .unconditional, help: "At most this many samples in the t-SNE (a seeded random subset).")
    var tsnePoints: Int = 2000
    @Option(help: "t-SNE perplexity.") var perplexity: Double = 30
    @Option(name: .customLong("tsne-iterations"), parsing: .unconditional, help: "t-SNE gradient steps.") var tsneIterations: Int = 1000
    @Option(name: .customLong("tsne-method"), help: "auto | exact | barnes-hut.") var tsneMethod: String = "auto"
    @Option(help: "t-SNE seed (layout and subset).") var seed: UInt64 = 0

    func validate() throws {
        guard (embeddings == nil) == (labels == nil) else { throw CommandFailure("give --embeddings and --labels together") }
        guard tsnePoints >= 2, tsnePoints <= 200_000 else { throw CommandFailure("--tsne-points must be in 2...200000 (got \(tsnePoints))") }
        guard perplexity.isFinite, perplexity >= 1, perplexity <= 1000 else { throw CommandFailure("--perplexity must be in 1...1000 (got \(perplexity))") }
        guard tsneIterations >= 1, tsneIterations <= 100_000 else { throw CommandFailure("--tsne-iterations must be in 1...100000 (got \(tsneIterations))") }
        guard TSNE.Method(rawValue: tsneMethod) != nil else { throw CommandFailure("--tsne-method must be auto, exact or barnes-hut") }
        try OutputLocation.requireFile(out, flag: "--out")
    }

    func run() throws {
        var report = try RunReport.load(runDirectory: runDirectory, evaluationDirectories: evaluationDirectories)
        if let embeddings, let labels {
            let inputs = try RepresentationMap.readInputs(embeddings: embeddings, labels: labels)
            var tsne = TSNE()
            tsne.perplexity = perplexity; tsne.iterations = tsneIterations; tsne.seed = seed
            tsne.method = TSNE.Method(rawValue: tsneMethod) ?? .auto
            let used = min(inputs.labels.count, tsnePoints)
            print("t-SNE of \(used) of \(inputs.labels.count) representations (\(tsne.usesBarnesHut(count: used) ? "Barnes-Hut" : "exact"))")
            report.representations = RepresentationMap.compute(values: inputs.values, dimension: inputs.dimension, labels: inputs.labels,
                                                               maximumPoints: tsnePoints, tsne: tsne)
        }
        report.classNames = try ClassNames.resolve(count: report.classCount, file: classNames)
        try report.write(to: out)
        print("report: \(out)")
    }
}
