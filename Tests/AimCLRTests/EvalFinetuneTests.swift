import Compute
import CPUBackend
import Foundation
import XCTest
@testable import AimCLR
import NN
import Skeleton

final class EvalFinetuneTests: XCTestCase {
    func testDefaultsFollowTheProtocols() {
        let semi = ClassifierTrainingConfig.fineTuning(labelFraction: 0.1)
        XCTAssertEqual(semi.gradientClip, 2.0)
        XCTAssertTrue(semi.augment)
        XCTAssertEqual(semi.baseLR, 0.1)
        XCTAssertEqual(semi.weightDecay, 1e-4)
        XCTAssertNil(ClassifierTrainingConfig.fineTuning(labelFraction: 1.0).gradientClip)
        let linear = ClassifierTrainingConfig.linearEvaluation
        XCTAssertEqual([linear.baseLR, linear.weightDecay, linear.momentum], [3.0, 0, 0.9])
        XCTAssertEqual(linear.steps, [80])
        XCTAssertEqual(linear.epochs, 100)
        XCTAssertEqual(linear.schedule.learningRate(epoch: 80), 3.0)
        XCTAssertEqual(linear.schedule.learningRate(epoch: 81), 0.3, accuracy: 1e-6)
    }

    /// The whole network trains in eval mode: weights move, BN running statistics stay.
    func testWholeNetworkTrainingKeepsBatchNormStatistics() throws {
        let d = CPUDevice(threads: 1)
        let train = try EvalTiny.set(count: 16, seed: 1, name: "t"), test = try EvalTiny.set(count: 6, seed: 2, name: "v")
        let e = try EvalTiny.encoder(device: d, calibrateOn: train)
        let statsBefore = e.buffers.map { d.read($0.value) }
        let counters = e.counters.map(\.value)
        let conv = e.parameter(named: "st_gcn_networks.3.gcn.conv.weight")!
        let convBefore = d.read(conv.value)
        var c = ClassifierTrainingConfig.fineTuning(labelFraction: 0.5)
        c.epochs = 2; c.batchSize = 8; c.evalInterval = 1
        let picked = try LabelSampler.sample(labels: train.labels, fraction: 0.5, seed: 0)
        let subset = try train.subset(picked, source: "half")
        XCTAssertEqual(subset.count, picked.count)
        XCTAssertEqual(subset.labels, picked.map { train.labels[$0] })
        let o = try ClassifierTrainer(encoder: e, config: c, mode: .wholeNetwork).run(train: subset, test: test)
        XCTAssertEqual(o.history.count, 2)
        XCTAssertTrue(o.history.allSatisfy { $0.trainLoss.isFinite })
        XCTAssertNotEqual(d.read(conv.value), convBefore, "backbone weights should train")
        for (b, before) in zip(e.buffers, statsBefore) { XCTAssertEqual(d.read(b.value), before, "\(b.name) changed") }
        XCTAssertEqual(e.counters.map(\.value), counters)
    }
}
