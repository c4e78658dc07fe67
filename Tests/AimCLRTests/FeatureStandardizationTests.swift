import CPUBackend
import Foundation
import XCTest
@testable import AimCLR
import NN

final class FeatureStandardizationTests: XCTestCase {
    /// Rows with a large common part and small class-carrying differences, as the pooled
    /// representations of a briefly pretrained encoder; dimension 2 is constant.
    let nearlyParallel = FeatureSet(values: [5.0, 2.00, 7, 5.1, 2.02, 7, 4.9, 1.97, 7, 5.2, 2.01, 7],
                                    dimension: 3, labels: [0, 1, 0, 1], names: ["a", "b", "c", "d"])

    func testStatisticsAreThePopulationMeanAndStdOfTheTrainingPart() {
        let s = FeatureStandardization(fitting: nearlyParallel)
        let x0: [Double] = [5.0, 5.1, 4.9, 5.2], x1: [Double] = [2.00, 2.02, 1.97, 2.01]
        for (j, x) in [x0, x1].enumerated() {
            let m = x.reduce(0, +) / 4
            let sd = (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 4).squareRoot()
            XCTAssertEqual(Double(s.mean[j]), m, accuracy: 1e-6)
            XCTAssertEqual(Double(s.scale[j]), 1 / sd, accuracy: 1e-3 / sd)
        }
        XCTAssertEqual(s.mean[2], 7)
        XCTAssertEqual(s.scale[2], 0, "a constant dimension is dropped, not scaled without bound")
        let z = s.apply(nearlyParallel)
        for j in 0..<2 {
            let col = (0..<4).map { Double(z.values[$0 * 3 + j]) }
            XCTAssertEqual(col.reduce(0, +) / 4, 0, accuracy: 1e-5)
            XCTAssertEqual(col.map { $0 * $0 }.reduce(0, +) / 4, 1, accuracy: 1e-4)
        }
        XCTAssertEqual((0..<4).map { z.values[$0 * 3 + 2] }, [0, 0, 0, 0])
        XCTAssertEqual(z.labels, nearlyParallel.labels)
        XCTAssertEqual(z.names, nearlyParallel.names)
    }

    /// The folded fc gives on raw features the logits the trained fc gives on standardised ones.
    func testFoldedClassifierReadsRawFeatures() {
        let s = FeatureStandardization(fitting: nearlyParallel)
        let w: [Float] = [0.3, -1.2, 0.5, 2.0, 0.7, -0.4], b: [Float] = [0.1, -0.2]
        let folded = s.fold(weight: w, bias: b)
        let z = s.apply(nearlyParallel)
        for r in 0..<4 {
            for c in 0..<2 {
                var onStandardised = Double(b[c]), onRaw = Double(folded.bias[c])
                for j in 0..<3 {
                    onStandardised += Double(w[c * 3 + j]) * Double(z.values[r * 3 + j])
                    onRaw += Double(folded.weight[c * 3 + j]) * Double(nearlyParallel.values[r * 3 + j])
                }
                XCTAssertEqual(onRaw, onStandardised, accuracy: 1e-3 * max(1, abs(onStandardised)), "row \(r) class \(c)")
            }
        }
        let state = s.fold(state: [("fc.weight", HostTensor(shape: [2, 3], floats: w)), ("fc.bias", HostTensor(shape: [2], floats: b)),
                                   ("other", HostTensor(shape: [1], floats: [9]))])
        XCTAssertEqual(state[0].tensor, HostTensor(shape: [2, 3], floats: folded.weight))
        XCTAssertEqual(state[1].tensor, HostTensor(shape: [2], floats: folded.bias))
        XCTAssertEqual(state[2].tensor, HostTensor(shape: [1], floats: [9]))
    }

    /// Standardised kNN = raw kNN on features standardised with the bank's statistics. On these
    /// features the raw cosines are all ≈ 1, so only the standardised vote finds the class.
    func testStandardizedKNNUsesTheBankStatistics() throws {
        let d = CPUDevice(threads: 1)
        let query = FeatureSet(values: [5.15, 2.015, 7], dimension: 3, labels: [1], names: ["q"])
        let knn = KNNClassifier(k: 1, temperature: 0.1, standardize: true)
        let s = FeatureStandardization(fitting: nearlyParallel)
        let expected = try KNNClassifier(k: 1, temperature: 0.1).scores(bank: s.apply(nearlyParallel), test: s.apply(query), classes: 2, device: d)
        let scores = try knn.scores(bank: nearlyParallel, test: query, classes: 2, device: d)
        assertClose(scores, expected, abs: 1e-5, rel: 1e-5, "standardised kNN scores")
        XCTAssertEqual(try knn.evaluate(bank: nearlyParallel, test: query, device: d).top1, 1)
    }

    /// Linear evaluation with standardised features learns where raw features at lr 3 cannot
    /// follow, and the saved (folded) fc reproduces the best logits on the raw features.
    func testLinearProbeOnStandardizedFeaturesSavesAFoldedClassifier() throws {
        let d = CPUDevice(threads: 1)
        let train = try EvalTiny.set(count: 24, seed: 1, name: "t"), test = try EvalTiny.set(count: 12, seed: 2, name: "v")
        var c = ClassifierTrainingConfig.linearEvaluation
        c.epochs = 10; c.steps = [8]; c.batchSize = 8; c.evalInterval = 5; c.baseLR = 0.1
        let e = try EvalTiny.encoder(device: d, calibrateOn: train)
        let trainer = try ClassifierTrainer(encoder: e, config: c, mode: .cachedFeatures)
        trainer.standardizeFeatures = true
        let o = try trainer.run(train: train, test: test)
        XCTAssertGreaterThan(o.history.first!.trainLoss, o.history.last!.trainLoss)
        // The last fc (now in the encoder, folded) on raw features = the last evaluation's logits.
        let raw = try FeatureExtractor(encoder: e, batchSize: 8).representations(of: test)
        let lastLogits = try trainer.classify(raw)
        let standardised = FeatureStandardization(fitting: try FeatureExtractor(encoder: e, batchSize: 8).representations(of: train))
        XCTAssertEqual(ClassificationMetrics.report(scores: lastLogits, classes: 3, labels: test.labels).top1, o.last.top1)
        // The best state's fc is folded the same way: loading it reproduces the best logits.
        try e.loadClassifierState(o.bestState.filter { $0.name.hasPrefix("fc.") })
        assertClose(try trainer.classify(raw), o.bestLogits, abs: 1e-4, rel: 1e-3, "best logits from the saved fc")
        XCTAssertGreaterThan(standardised.scale.filter { $0 > 0 }.count, 0)
        // The slow path has no cached features to standardise.
        let slow = try ClassifierTrainer(encoder: e, config: c, mode: .frozenEncoder)
        slow.standardizeFeatures = true
        XCTAssertThrowsError(try slow.run(train: train, test: test))
    }
}
