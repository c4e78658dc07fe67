import Compute
import CPUBackend
import Foundation
import XCTest
@testable import AimCLR
import NN
import Skeleton

final class EvalLinearTests: XCTestCase {
    /// Three classes of 16-d representations around distinct centres with noise.
    static func separable(count: Int, seed: UInt64, name: String) -> FeatureSet {
        let key = RandomKey(seed: seed, stream: 3, step: 0)
        var values = [Float](repeating: 0, count: count * 16)
        for n in 0..<count {
            let c = n % 3
            for j in 0..<16 {
                let centre: Float = j % 3 == c ? 1 : 0
                values[n * 16 + j] = centre + 0.3 * key.gaussian(n * 16 + j)
            }
        }
        return FeatureSet(values: values, dimension: 16, labels: (0..<count).map { $0 % 3 },
                          names: (0..<count).map { "\(name)\($0)" })
    }

    func testLinearEvaluationLearnsSeparableRepresentations() throws {
        let d = CPUDevice(threads: 1)
        let encoder = try EvalTiny.encoder(device: d)
        var c = ClassifierTrainingConfig.linearEvaluation
        c.epochs = 20; c.steps = [16]; c.batchSize = 16
        let trainer = try ClassifierTrainer(encoder: encoder, config: c, mode: .cachedFeatures)
        let o = try trainer.run(trainFeatures: Self.separable(count: 96, seed: 1, name: "t"),
                                testFeatures: Self.separable(count: 48, seed: 2, name: "v"))
        XCTAssertEqual(o.history.map(\.epoch), [5, 10, 15, 20])
        XCTAssertEqual(o.history.last!.learningRate, 0.3, accuracy: 1e-6)
        XCTAssertGreaterThanOrEqual(o.last.top1, 0.95, "history: \(o.history)")
        XCTAssertGreaterThanOrEqual(o.best.top1, o.last.top1)
        XCTAssertEqual(o.best.top1, o.history.map(\.top1).max()!)
        XCTAssertEqual(o.bestLogits.count, 48 * 3)
        XCTAssertEqual(o.history.first!.trainLoss > o.history.last!.trainLoss, true)
        // Only the fc moved: the backbone is frozen.
        XCTAssertFalse(encoder.parameters.first!.trainable)
    }

    func testFreshClassifierIsReferenceInitialised() throws {
        let e = try EvalTiny.encoder(device: CPUDevice(threads: 1))
        let w = e.device.read(e.head.parameters[0].value), b = e.device.read(e.head.parameters[1].value)
        XCTAssertEqual(b, [Float](repeating: 0, count: 3))
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.008)
    }

    func testEpochOrderIsTheLoaderOrder() throws {
        let set = try EvalTiny.set(count: 10, seed: 1)
        let loader = try BatchLoader(data: set.positions, labels: set.labels, batchSize: 4, shuffle: true, dropLast: true, seed: 9)
        for epoch in 1...3 {
            XCTAssertEqual(ClassifierTrainer.epochOrder(count: 10, seed: 9, epoch: epoch), loader.order(epoch: epoch))
        }
        XCTAssertNotEqual(ClassifierTrainer.epochOrder(count: 10, seed: 9, epoch: 1), Array(0..<10))
    }

    /// The fast path (features once) and the slow path (encoder on every batch) train the same fc.
    func testCachedAndRecomputedFeaturesAgree() throws {
        let d = CPUDevice(threads: 1)
        let train = try EvalTiny.set(count: 20, seed: 1, name: "t"), test = try EvalTiny.set(count: 9, seed: 2, name: "v")
        var c = ClassifierTrainingConfig.linearEvaluation
        c.epochs = 3; c.steps = [2]; c.batchSize = 8; c.evalInterval = 1; c.baseLR = 0.5
        var outcomes: [ClassifierTrainingOutcome] = [], weights: [[Float]] = []
        for mode in [ClassifierTrainingMode.cachedFeatures, .frozenEncoder] {
            let e = try EvalTiny.encoder(device: d, calibrateOn: train)
            let o = try ClassifierTrainer(encoder: e, config: c, mode: mode).run(train: train, test: test)
            outcomes.append(o)
            weights.append(d.read(e.head.parameters[0].value))
        }
        assertClose(outcomes[1].bestLogits, outcomes[0].bestLogits, abs: 1e-4, rel: 1e-3, "best logits")
        assertClose(weights[1], weights[0], abs: 1e-5, rel: 1e-3, "fc weights")
        XCTAssertEqual(outcomes[0].history.map(\.top1), outcomes[1].history.map(\.top1))
        for (a, b) in zip(outcomes[0].history, outcomes[1].history) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-4 * max(1, abs(a.trainLoss)))
        }
        // The data are learnable and the features vary: training moved the fc off the initial one.
        XCTAssertNotEqual(outcomes[0].history.first!.trainLoss, 0)
        let spread = (0..<3).map { j in (0..<9).map { outcomes[0].bestLogits[$0 * 3 + j] } }.map { $0.max()! - $0.min()! }
        XCTAssertGreaterThan(spread.max()!, 1e-3, "eval-mode features should differ between samples")
    }
}
