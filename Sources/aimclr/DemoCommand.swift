import AimCLR
import ArgumentParser
import Foundation
import Skeleton

/// `aimclr demo`: what `make demo` runs.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Synthetic data, a short AimCLR pretraining, then linear and kNN evaluation against a random encoder.",
        discussion: """
        Writes the synthetic dataset to --data when it is absent, pretrains a reduced encoder (hidden 8/64, \
        batch 32, queue 256 filled by a warm-up, lr 0.0005 then 0.00005 after epoch 3, key momentum 0.99) for five \
        epochs once per seed (--seeds, default 3), and evaluates each pretrained encoder and a randomly initialised \
        one of each seed with two linear probes on cached features (the reference protocol on raw features, lr 3.0, \
        and the same probe on standardised features, lr 0.1) and cosine kNN. Prints the kNN monitor per epoch, a table \
        with the median over the seeds and their spread, and writes \
        WORK_DIR/demo_result.json and WORK_DIR/report.html (see `aimclr report`): the run's curves, the pretrained \
        encoder's confusion matrices and a t-SNE of its val representations.
        """)

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(help: "Dataset folder (written when absent).") var data: String = "data/synthetic"
    @Option(name: .customLong("work-dir"), help: "Where checkpoints, logs and results go.") var workDir: String = "runs/demo"
    @Option(help: "Pretraining epochs.") var epochs: Int?
    @Option(name: .customLong("linear-epochs"), help: "Linear-evaluation epochs.") var linearEpochs: Int = 100
    @Option(help: "Pretraining runs (seeds 0, 1, ...); the table gives each and their median.") var seeds: Int = 3

    func validate() throws {
        guard (1...20).contains(seeds) else { throw CommandFailure("--seeds must be in 1...20 (got \(seeds))") }
        if let e = epochs, e < 1 { throw CommandFailure("--epochs must be at least 1 (got \(e))") }
        guard linearEpochs >= 1 else { throw CommandFailure("--linear-epochs must be at least 1 (got \(linearEpochs))") }
    }

    func run() throws {
        let device = try deviceOptions.makeDevice()
        var demo = Demo(dataDirectory: data, workDirectory: workDir)
        if let e = epochs {
            demo.pretrain.numEpoch = e
            demo.pretrain.miningEpoch = max(1, e * 2 / 3)
        }
        demo.linearEpochs = linearEpochs
        demo.seeds = (0..<UInt64(seeds)).map { $0 }
        // A fresh run each time: an old checkpoint in the folder would be resumed otherwise.
        try? FileManager.default.removeItem(atPath: demo.pretrain.workDir)
        for seed in demo.seeds.dropFirst() { try? FileManager.default.removeItem(atPath: demo.pretrain.workDir + "-seed\(seed)") }
        let (r, details) = try demo.runWithDetails(device: device) { print($0) }
        let data = try JSONEncoder().encode(r)
        try data.write(to: URL(fileURLWithPath: workDir + "/demo_result.json"))

        func pct(_ x: Double) -> String { String(format: "%6.1f%%", x * 100) }
        print("")
        print("AimCLR demo on \(r.device)")
        print("data: synthetic NTU-25, \(r.classes) classes, \(r.trainSamples) train / \(r.testSamples) val samples "
              + "(subject-disjoint); chance \(pct(r.chance))")
        print(String(format: "pretraining: %d iterations per seed, %.0f s for %d seed(s)", r.pretrainIterations,
                     r.pretrainSeconds, r.pretrained.count))
        for row in r.pretrained {
            let monitor = (row.monitorTop1 ?? []).map { String(format: "%.1f", $0 * 100) }.joined(separator: " ")
            let untrained = row.untrainedMonitorTop1.map { String(format: "untrained %.1f, ", $0 * 100) } ?? ""
            print("kNN monitor, seed \(row.seed) (%): \(untrained)after each epoch \(monitor)")
        }
        if let first = r.firstEpochLoss, let last = r.lastEpochLoss, last >= first {
            print(String(format: "loss %.3f -> %.3f: the first epoch's mean holds the few easy steps against the warm-up's "
                         + "untrained keys, so the loss rises while the encoder learns; read the kNN monitor instead", first, last))
        }
        print("")
        print("encoder                 linear (reference)   linear (standardised)   kNN (k=\(demo.knnNeighbours))")
        print("                         last     best*       last")
        for row in r.rows {
            print(row.encoder.padding(toLength: 22, withPad: " ", startingAt: 0)
                  + " " + pct(row.linearTop1) + "   " + pct(row.linearBestTop1) + "     " + pct(row.standardizedLinearTop1)
                  + "                 " + pct(row.knnTop1))
        }
        print("* best evaluated epoch, selected on the test set as the reference does")
        print(String(format: "reference probe: raw features, lr 3.0; standardised: per-dimension mean/std of the train part, lr %g "
                     + "(a random encoder's features are nearly parallel and lr 3.0 cannot fit them)", demo.standardizedLinearLR))
        func spread(_ rows: [Demo.Row], _ value: (Demo.Row) -> Double) -> String {
            let v = rows.map(value)
            return String(format: "%.1f%% (%.1f-%.1f)", (Demo.median(v) ?? 0) * 100, (v.min() ?? 0) * 100, (v.max() ?? 0) * 100)
        }
        for (what, rows) in [("pretrained", r.pretrained), ("random init", r.random)] where !rows.isEmpty {
            print("median of \(rows.count) \(what): linear \(spread(rows) { $0.linearTop1 }) reference, "
                  + "\(spread(rows) { $0.standardizedLinearTop1 }) standardised; kNN \(spread(rows) { $0.knnTop1 })")
        }
        let median = { (rows: [Demo.Row], value: (Demo.Row) -> Double) in Demo.median(rows.map(value)) ?? 0 }
        if !r.pretrained.isEmpty && !r.random.isEmpty {
            print(String(format: "pretrained vs random (medians): %+.1f points linear (reference), %+.1f (standardised), %+.1f kNN",
                         (median(r.pretrained) { $0.linearTop1 } - median(r.random) { $0.linearTop1 }) * 100,
                         (median(r.pretrained) { $0.standardizedLinearTop1 } - median(r.random) { $0.standardizedLinearTop1 }) * 100,
                         (median(r.pretrained) { $0.knnTop1 } - median(r.random) { $0.knnTop1 }) * 100))
        }
        print(String(format: "total %.0f s; results in %@/demo_result.json", r.totalSeconds, workDir))
        if let details {
            print("report: \(try writeReport(demo: demo, details: details, classes: r.classes))")
        }
    }

    /// The run's report, with the pretrained encoder's evaluations and val representations.
    func writeReport(demo: Demo, details: Demo.Details, classes: Int) throws -> String {
        var report = try RunReport.load(runDirectory: demo.pretrain.workDir, evaluationDirectories: [])
        report.evaluations = details.evaluations.map { EvaluationResult(summary: $0, source: "aimclr demo (pretrained encoder)") }
        let f = details.testRepresentations
        report.representations = RepresentationMap.compute(values: f.values, dimension: f.dimension, labels: f.labels,
                                                           maximumPoints: 2000, tsne: TSNE())
        let synthetic = SyntheticAction.allCases.map(\.name)
        report.classNames = classes == synthetic.count ? synthetic : try ClassNames.resolve(count: report.classCount)
        let path = workDir + "/report.html"
        try report.write(to: path)
        return path
    }
}
