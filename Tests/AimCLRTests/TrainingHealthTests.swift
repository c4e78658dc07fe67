import Compute
import CPUBackend
import Foundation
import NN
import Skeleton
import TestSupport
import XCTest
@testable import AimCLR

/// Training health: the pre-flight recipe notes, the embedding statistics, the collapse
/// detector and the kNN monitor (against `aimclr knn` on the same checkpoint).
final class TrainingHealthTests: XCTestCase {
    // MARK: Recipe check

    func testReferenceRecipeOnNTUSizedDataIsSilent() {
        let reference = PretrainConfig()
        // NTU-60 x-sub/x-view and NTU-120 x-sub/x-set training parts.
        for samples in [40091, 37646, 63026, 54468] {
            XCTAssertEqual(RecipeCheck.notes(reference, samples: samples), [], "\(samples) samples")
        }
        var scaled = reference
        scaled.batchSize = 256; scaled.baseLR = 0.2
        XCTAssertEqual(RecipeCheck.notes(scaled, samples: 40091), [], "linearly scaled lr")
    }

    /// configs/small-data.yaml loads without unknown keys, holds the recipe of the README's MSR
    /// table, and passes the recipe check on MSR's 291 training sequences, where the reference
    /// recipe is noted (its K 32768 exceeds the set).
    func testSmallDataConfigPassesTheRecipeCheckWhereTheReferenceRecipeIsNoted() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let (c, unknown) = try PretrainConfig.load(yaml: root.appendingPathComponent("configs/small-data.yaml").path)
        XCTAssertEqual(unknown, [])
        XCTAssertEqual([c.hiddenChannels, c.hiddenDim, c.featureDim, c.batchSize, c.queueSize, c.numEpoch, c.miningEpoch],
                       [8, 64, 64, 32, 128, 40, 24])
        XCTAssertEqual(c.baseLR, 0.01)
        XCTAssertEqual(c.momentum, 0.99)
        XCTAssertEqual(c.steps, [32])
        XCTAssertTrue(c.queueWarmup)
        XCTAssertEqual(RecipeCheck.notes(c, samples: 291), [])
        let reference = RecipeCheck.notes(PretrainConfig(), samples: 291)
        XCTAssertEqual(reference.count, 1, "\(reference)")
        XCTAssertTrue(reference[0].hasPrefix("note: queue K 32768 >= the 291 training samples"), reference[0])
    }

    func testBadRecipesAreNoted() {
        var c = PretrainConfig()
        c.numEpoch = 1
        // K 32768 over 1000 samples, 7 iterations against a turnover of 256.
        let small = RecipeCheck.notes(c, samples: 1000)
        XCTAssertEqual(small.count, 2, "\(small)")
        XCTAssertTrue(small[0].hasPrefix("note: queue K 32768 >= the 1000 training samples"), small[0])
        XCTAssertTrue(small[1].hasPrefix("note: the run has 7 iterations, fewer than one queue turnover (K/B = 32768/128 = 256)"), small[1])
        XCTAssertTrue(small[1].contains("--queue-warmup"), small[1])

        var big = PretrainConfig()
        big.batchSize = 2048; big.queueSize = 4096
        let batch = RecipeCheck.notes(big, samples: 1000)
        XCTAssertTrue(batch.contains { $0.hasPrefix("note: batch 2048 is larger than the 1000 training samples") }, "\(batch)")

        var unscaled = PretrainConfig()
        unscaled.batchSize = 16
        let lr = RecipeCheck.notes(unscaled, samples: 40091)
        XCTAssertEqual(lr, ["note: lr 0.1 at batch 16 is 8x the reference's per-sample rate (0.1 at batch 128); linear scaling gives --base-lr 0.0125"])
        // 3.9x is within the tolerance; 4.8x is not.
        unscaled.baseLR = 3.9 * 0.1 * 16 / 128
        XCTAssertEqual(RecipeCheck.notes(unscaled, samples: 40091), [])
        unscaled.baseLR = 0.06
        XCTAssertEqual(RecipeCheck.notes(unscaled, samples: 40091).count, 1)
    }

    // MARK: Embedding statistics

    /// Random unit rows (n, d).
    func unitRows(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
        let key = RandomKey(seed: seed, stream: 5, step: 0)
        return KNNClassifier.normalized((0..<(n * d)).map { key.gaussian($0) }, dimension: d)
    }

    func testStatisticsEqualADirectComputation() {
        let n = 6, d = 5, negatives = 7
        let q = unitRows(n, d, seed: 1), k = unitRows(n, d, seed: 2)
        let key = RandomKey(seed: 3, stream: 1, step: 0)
        let logits = (0..<(n * (1 + negatives))).map { key.gaussian($0) * 4 }
        let h = EmbeddingHealth.measure(query: q, key: k, rows: n, dimension: d, logits: logits, negatives: negatives)
        func row(_ x: [Float], _ i: Int) -> [Double] { (0..<d).map { Double(x[i * d + $0]) } }
        func sq(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
        let alignment = (0..<n).map { sq(row(q, $0), row(k, $0)) }.reduce(0, +) / Double(n)
        var pairs: [Double] = []
        for i in 0..<n { for j in 0..<n where i < j { pairs.append(exp(-2 * sq(row(q, i), row(q, j)))) } }
        let uniformity = log(pairs.reduce(0, +) / Double(pairs.count))
        let std = (0..<d).map { c -> Double in
            let column = (0..<n).map { Double(q[$0 * d + c]) }
            let mean = column.reduce(0, +) / Double(n)
            return (column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        }.reduce(0, +) / Double(d)
        let positive = (0..<n).map { Double(logits[$0 * (1 + negatives)]) }.reduce(0, +) / Double(n)
        let negative = (0..<n).flatMap { i in (1...negatives).map { Double(logits[i * (1 + negatives) + $0]) } }
            .reduce(0, +) / Double(n * negatives)
        XCTAssertEqual(h.alignment, alignment, accuracy: 1e-12)
        XCTAssertEqual(h.uniformity, uniformity, accuracy: 1e-12)
        XCTAssertEqual(h.dimensionStd, std, accuracy: 1e-12)
        XCTAssertEqual(h.positiveLogit, positive, accuracy: 1e-12)
        XCTAssertEqual(h.negativeLogit, negative, accuracy: 1e-12)
        XCTAssertGreaterThan(alignment, 0.5, "independent random rows are not aligned")
        XCTAssertLessThan(uniformity, -0.5)
    }

    // MARK: Collapse detector

    func testCollapseFiresOnIdenticalRowsNotOnRandomUnitVectors() {
        let n = 128, d = 128
        let detector = CollapseDetector(queueSize: 1024, batchSize: n)
        let random = unitRows(n, d, seed: 9)
        let spread = EmbeddingHealth.measure(query: random, key: random, rows: n, dimension: d, logits: [], negatives: 0)
        XCTAssertEqual(spread.dimensionStd, 1 / Double(d).squareRoot(), accuracy: 0.15 / Double(d).squareRoot())
        XCTAssertNil(detector.verdict(spread, dimension: d))
        let one = Array(random[0..<d])
        let same = (0..<n).flatMap { _ in one }
        let collapsed = EmbeddingHealth.measure(query: same, key: same, rows: n, dimension: d, logits: [], negatives: 0)
        XCTAssertEqual(collapsed.dimensionStd, 0, accuracy: 1e-7)
        XCTAssertEqual(collapsed.uniformity, 0, accuracy: 1e-12)
        let reason = detector.verdict(collapsed, dimension: d)
        XCTAssertEqual(reason, "per-dimension std 0 < 0.2/sqrt(128) = 0.0177")
        XCTAssertTrue(CollapseDetector.warning(epoch: 3, reason: reason ?? "").hasPrefix("warning: epoch 3: the embeddings have collapsed"))
    }

    /// A projection collapse is a warning unless the backbone reads no worse than untrained on both
    /// counts (kNN top-1 not lower, rank at least a quarter of the untrained rank); without readings
    /// (no monitor, or a resumed run without the untrained one) it stays a warning.
    func testProjectionCollapseIsANoteOnlyWhileTheBackboneKeepsItsRankAndKNN() {
        let untrained = BackboneReading(top1: 0.30, rank: 12)
        let reason = "per-dimension std 0 < 0.2/sqrt(64) = 0.025"
        XCTAssertEqual(CollapseAssessment.assess(epoch: 2, reason: nil, backbone: BackboneReading(top1: 0.01, rank: 1),
                                                 untrained: untrained), .spread)
        let warning = CollapseAssessment.collapsed(warning: CollapseDetector.warning(epoch: 2, reason: reason))
        for backbone in [BackboneReading(top1: 0.29, rank: 12),     // kNN fell
                         BackboneReading(top1: 0.50, rank: 2.9)] {  // rank below 12 / 4
            XCTAssertEqual(CollapseAssessment.assess(epoch: 2, reason: reason, backbone: backbone, untrained: untrained), warning, "\(backbone)")
        }
        XCTAssertEqual(CollapseAssessment.assess(epoch: 2, reason: reason, backbone: nil, untrained: untrained), warning)
        XCTAssertEqual(CollapseAssessment.assess(epoch: 2, reason: reason, backbone: untrained, untrained: nil), warning)
        // At the bounds (equal kNN, exactly a quarter of the rank) the backbone still counts as kept.
        let kept = CollapseAssessment.assess(epoch: 2, reason: reason, backbone: BackboneReading(top1: 0.30, rank: 3), untrained: untrained)
        guard case .projectionsOnly(let note) = kept else { return XCTFail("\(kept)") }
        XCTAssertEqual(note, "note: epoch 2: the projections have collapsed (\(reason)), the backbone has not: kNN top-1 30.00% "
            + "(untrained 30.00%), representation rank 3.0 (untrained 12.0); the contrastive loss stays near ln(K+1) while the "
            + "representations can still improve: judge this run by the kNN monitor and `aimclr linear --standardize-features`, "
            + "not by the loss")
    }

    func testLossAtChanceNeedsAWholeQueueTurnover() {
        var detector = CollapseDetector(queueSize: 64, batchSize: 8)
        let chance = Float(log(65.0))
        for _ in 0..<7 { detector.record(contrastive: chance * 0.995, infoNCE: true) }
        XCTAssertFalse(detector.lossAtChance, "7 of 8 iterations")
        detector.record(contrastive: chance * 1.005, infoNCE: true)
        XCTAssertTrue(detector.lossAtChance)
        let healthy = EmbeddingHealth(alignment: 0.5, uniformity: -3, dimensionStd: 0.1, positiveLogit: 10, negativeLogit: 0)
        XCTAssertEqual(detector.verdict(healthy, dimension: 16), "InfoNCE within 1% of ln(K+1) = 4.174 for 8 iterations (one queue turnover)")
        detector.record(contrastive: chance * 0.98, infoNCE: true)
        XCTAssertFalse(detector.lossAtChance, "one iteration 2 % below chance")
        for _ in 0..<8 { detector.record(contrastive: chance, infoNCE: true) }
        detector.record(contrastive: chance, infoNCE: false)
        XCTAssertFalse(detector.lossAtChance, "NNM iterations clear the window")
    }

    // MARK: kNN monitor

    /// A Tiny dataset folder with a val part as well.
    func folderWithValPart(train: Int, val: Int) throws -> String {
        let dir = try Tiny.datasetFolder(samples: train, seed: 41)
        let w = try NpyWriter(path: dir + "/val_position.npy", dtype: .float32, shape: [val, 3, Tiny.frames, Tiny.joints, Tiny.persons])
        try w.append(floats: Tiny.sequences(count: val, seed: 42))
        try w.finish()
        try LabelFile(names: (0..<val).map { "v\($0)" }, labels: (0..<val).map { ($0 * 7) % 3 }).write(to: dir + "/val_label.pkl")
        return dir
    }

    func testMonitorEqualsKNNCommandOnTheSavedCheckpoint() throws {
        try assertMonitorEqualsKNNCommand(KNNMonitorSettings(), knnFlags: [])
    }

    /// The small-data monitor (few neighbours, standardised features) is `aimclr knn` with the same flags.
    func testSmallDataMonitorEqualsKNNCommandWithTheSameFlags() throws {
        var m = KNNMonitorSettings()
        m.k = 3
        m.standardize = true
        try assertMonitorEqualsKNNCommand(m, knnFlags: ["--k", "3", "--standardize-features"])
    }

    private func assertMonitorEqualsKNNCommand(_ monitor: KNNMonitorSettings, knnFlags: [String],
                                               file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try folderWithValPart(train: 16, val: 10)
        var c = Tiny.config(batch: 4, queue: 8)
        c.numEpoch = 1
        c.dataPath = data + "/train_position.npy"; c.labelPath = data + "/train_label.pkl"
        c.workDir = data + "/run"
        var warnings: [String] = []
        let trainer = try Pretrainer(config: c, device: CPUDevice(), warn: { warnings.append($0) })
        trainer.tensorBoard = false
        trainer.monitor = monitor
        let summary = try trainer.run(resume: false)
        let records = try String(contentsOfFile: c.workDir + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let health = try XCTUnwrap(records.first { $0["type"] as? String == "health" })
        // Before the first update: the untrained encoder's kNN, logged as epoch 0.
        let untrained = try XCTUnwrap(records.first { $0["type"] as? String == "monitor" })
        XCTAssertEqual(untrained["epoch"] as? Int, 0)
        XCTAssertEqual(untrained["knnTop1"] as? Double, summary.untrainedMonitorTop1, file: file, line: line)
        XCTAssertLessThan(try XCTUnwrap(records.firstIndex { $0["type"] as? String == "monitor" }),
                          try XCTUnwrap(records.firstIndex { $0["type"] as? String == "iteration" }))
        let monitored = try XCTUnwrap(health["knnTop1"] as? Double)
        XCTAssertEqual(health["knnSamples"] as? [Int], [16, 10])
        XCTAssertGreaterThan(try XCTUnwrap(health["representationRank"] as? Double), 0)
        XCTAssertEqual(health["representationCollapse"] as? Bool,
                       warnings.contains { $0.hasPrefix("warning: epoch 1: the backbone's representations have collapsed") })
        XCTAssertGreaterThan(try XCTUnwrap(records.first { $0["type"] as? String == "monitor" }?["representationRank"] as? Double), 0)
        XCTAssertEqual(health["collapse"] as? Bool, warnings.contains { $0.hasPrefix("warning: epoch 1: the embeddings have collapsed") })
        XCTAssertEqual(health["projectionCollapse"] as? Bool, (health["collapse"] as? Bool ?? false)
                       || warnings.contains { $0.hasPrefix("note: epoch 1: the projections have collapsed") })
        let header = try XCTUnwrap(records.first { $0["type"] as? String == "header" })
        XCTAssertEqual(header["notes"] as? [String], trainer.recipeNotes)
        XCTAssertEqual(trainer.recipeNotes.count, 1, "lr 0.1 at batch 4: \(trainer.recipeNotes)")
        XCTAssertTrue(warnings.contains(trainer.recipeNotes[0]))
        let text = try String(contentsOfFile: c.workDir + "/log.txt", encoding: .utf8)
        XCTAssertTrue(text.contains(String(format: "kNN top-1 %.2f%%", monitored * 100)), text)
        XCTAssertTrue(text.contains(trainer.recipeNotes[0]), text)

        let out = data + "/knn"
        let r = try CLIBadInputTests.aimclr(["knn", "--checkpoint", try XCTUnwrap(summary.checkpoint), "--data", data,
                                             "--batch-size", "4", "--device", "cpu", "--out", out, "--no-tensorboard"] + knnFlags, in: data)
        XCTAssertEqual(r.status, 0, r.stderr)
        let knn = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/knn_result.json"))) as! [String: Any]
        XCTAssertEqual(monitored, try XCTUnwrap(knn["top1"] as? Double), file: file, line: line)
    }

    /// The first epoch whose projections look collapsed reads the backbone even when the monitor is
    /// not due, and the record, the warning or note and the reading agree.
    func testFirstProjectionCollapseRunsTheMonitorOutOfTurn() throws {
        let data = try folderWithValPart(train: 16, val: 10)
        var c = Tiny.config(batch: 4, queue: 8)
        c.numEpoch = 3
        c.dataPath = data + "/train_position.npy"; c.labelPath = data + "/train_label.pkl"
        c.workDir = data + "/run"
        var messages: [String] = []
        let trainer = try Pretrainer(config: c, device: CPUDevice(), warn: { messages.append($0) })
        trainer.tensorBoard = false
        trainer.monitor.every = 10
        _ = try trainer.run(resume: false)
        let health = try String(contentsOfFile: c.workDir + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["type"] as? String == "health" }
        XCTAssertEqual(health.count, 3)
        var before = false
        for (i, h) in health.enumerated() {
            let epoch = i + 1, projections = try XCTUnwrap(h["projectionCollapse"] as? Bool)
            // Due only after the last epoch, or out of turn at the start of a collapse.
            XCTAssertEqual(h["knnTop1"] != nil, epoch == 3 || (projections && !before), "epoch \(epoch)")
            let warned = messages.contains { $0.hasPrefix("warning: epoch \(epoch): the embeddings have collapsed") }
            let noted = messages.contains { $0.hasPrefix("note: epoch \(epoch): the projections have collapsed") }
            XCTAssertEqual(h["collapse"] as? Bool, warned, "epoch \(epoch)")
            XCTAssertEqual(projections, warned || noted, "epoch \(epoch)")
            XCTAssertFalse(warned && noted)
            before = projections
        }
        // An untrained ST-GCN maps its inputs to nearly one point: this tiny run starts collapsed.
        XCTAssertEqual(health[0]["projectionCollapse"] as? Bool, true)
    }

    func testMonitorFlagsAreValidatedNamingTheFlag() throws {
        let data = try Tiny.datasetFolder(samples: 8, seed: 3)
        for (flags, message) in [(["--monitor-every", "0"], "--monitor-every must be at least 1 (got 0)"),
                                 (["--monitor-k", "0"], "--monitor-k must be at least 1 (got 0)"),
                                 (["--monitor-samples", "-1"], "--monitor-samples must be in 1...16777216 (got -1)"),
                                 (["--monitor-data", data], "--monitor-data \(data): no val_position.npy with val_label.pkl in that folder"),
                                 (["--monitor-data", data, "--no-monitor"], "give --monitor-data or --no-monitor, not both")] {
            let r = try CLIBadInputTests.aimclr(["pretrain", "--data", data, "--work-dir", data + "/run", "--device", "cpu"] + flags, in: data)
            XCTAssertNotEqual(r.status, 0, "\(flags)")
            XCTAssertTrue(r.stderr.contains("Error: " + message), "\(flags): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: data + "/run"), "\(flags)")
        }
    }

    /// Capped subsets are spread evenly and the same each time; measuring leaves every weight and BN statistic as it was.
    func testMonitorSubsetsAreDeterministicAndLeaveTheModelUnchanged() throws {
        XCTAssertEqual(KNNMonitor.spread(count: 10, cap: 4), [0, 2, 5, 7])
        XCTAssertEqual(KNNMonitor.spread(count: 3, cap: 8), [0, 1, 2])
        let data = try folderWithValPart(train: 12, val: 9)
        var c = Tiny.config(batch: 4, queue: 8)
        c.dataPath = data + "/train_position.npy"; c.labelPath = data + "/train_label.pkl"
        c.workDir = data + "/run"
        let trainer = try Pretrainer(config: c, device: CPUDevice(), warn: { _ in })
        trainer.monitor.samples = 5
        let monitor = try XCTUnwrap(try trainer.makeMonitor())
        XCTAssertEqual(monitor.bank.names, ["s0", "s2", "s4", "s7", "s9"])
        XCTAssertEqual(monitor.test.names, ["v0", "v1", "v3", "v5", "v7"])
        let views = Tiny.relatedViews(batch: 4, seed: 5)
        try trainer.model.step(views, epoch: 1)
        let before = trainer.model.encoderQ.exportState()
        let first = try monitor.measure(encoder: trainer.model.encoderQ, batchSize: 4, stream: .joint, layout: .ntuRGBD)
        XCTAssertEqual(trainer.model.encoderQ.exportState().map(\.tensor), before.map(\.tensor))
        let again = try monitor.measure(encoder: trainer.model.encoderQ, batchSize: 4, stream: .joint, layout: .ntuRGBD)
        XCTAssertEqual(again.top1, first.top1)
        // The rank is that of the bank's eval-mode representations.
        let bank = try FeatureExtractor(encoder: trainer.model.encoderQ, batchSize: 4).representations(of: monitor.bank)
        XCTAssertEqual(first.representationRank, RepresentationRank.effectiveRank(bank.values, rows: bank.count, dimension: bank.dimension))
        XCTAssertGreaterThan(first.representationRank, 1)

        trainer.monitor.enabled = false
        XCTAssertNil(try trainer.makeMonitor())
        trainer.monitor = KNNMonitorSettings()
        trainer.monitor.every = 0
        XCTAssertThrowsError(try trainer.makeMonitor()) { XCTAssertEqual("\($0)", "--monitor-every must be at least 1 (got 0)") }
    }
}
