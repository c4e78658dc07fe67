import CPUBackend
import Foundation
import Skeleton
import XCTest
@testable import AimCLR

/// The demo's pipeline on a small synthetic set: one pretraining per seed, each evaluated, the
/// random encoder last, the kNN monitor per epoch and the median over the seeds.
final class DemoTests: XCTestCase {
    func testEachSeedPretrainsAndIsEvaluatedWithItsMonitor() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aimclr-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        var synthetic = SyntheticConfig()
        synthetic.trainCount = 64
        synthetic.valCount = 32
        _ = try SyntheticDataset.generate(synthetic, to: root + "/data")
        var demo = Demo(dataDirectory: root + "/data", workDirectory: root + "/runs")
        demo.pretrain.numEpoch = 2
        demo.pretrain.hiddenChannels = 4
        demo.pretrain.hiddenDim = 16
        demo.pretrain.featureDim = 16
        demo.pretrain.steps = [1]
        demo.pretrain.miningEpoch = 1
        demo.pretrain.saveInterval = 2
        demo.pretrain.queueSize = 64
        demo.linearEpochs = 2
        demo.knnNeighbours = 10
        demo.seeds = [0, 1]
        let (result, details) = try demo.runWithDetails(device: CPUDevice(threads: 1)) { _ in }

        XCTAssertEqual(result.rows.map(\.encoder), ["AimCLR seed 0", "AimCLR seed 1", "random init seed 0", "random init seed 1"])
        XCTAssertEqual(result.pretrained.map(\.seed), [0, 1])
        XCTAssertEqual(result.random.map(\.seed), [0, 1])
        XCTAssertEqual(result.pretrained.map { $0.monitorTop1?.count }, [2, 2])
        XCTAssertTrue(result.pretrained.allSatisfy { ($0.untrainedMonitorTop1 ?? -1) >= 0 }, "\(result.pretrained)")
        for row in result.rows {
            XCTAssertTrue([row.linearTop1, row.standardizedLinearTop1, row.knnTop1].allSatisfy { (0...1).contains($0) }, "\(row)")
        }
        // Two seeds: the median is their mean; the seeds trained different encoders.
        let linear = result.pretrained.map(\.linearTop1)
        XCTAssertEqual(result.medianLinearTop1 ?? -1, (linear[0] + linear[1]) / 2, accuracy: 1e-12)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/runs/pretrain/epoch2_model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/runs/pretrain-seed1/epoch2_model.safetensors"))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/runs/pretrain/epoch2_model.safetensors")),
                          try Data(contentsOf: URL(fileURLWithPath: root + "/runs/pretrain-seed1/epoch2_model.safetensors")))
        XCTAssertEqual(details?.testRepresentations.labels.count, 32)
        // The standardised probe starts from a fresh fc, not from the reference probe's trained one:
        // it equals a probe trained alone on the standardised features of the same encoder.
        let d = CPUDevice(threads: 1)
        let train = try EvaluationSet.open(directory: root + "/data", part: .train)
        let test = try EvaluationSet.open(directory: root + "/data", part: .val)
        var shape = EncoderShape()
        shape.hiddenChannels = 4
        shape.hiddenDim = 16
        let row = try demo.evaluate(.randomInit(seed: 0), name: "r", seed: 0, train: train, test: test, classes: result.classes,
                                    shape: shape, device: d).row
        let alone = try EncoderLoader.load(.randomInit(seed: 0), layout: .ntuRGBD, numClass: result.classes, device: d, randomShape: shape)
        let extractor = FeatureExtractor(encoder: alone.encoder, batchSize: 128)
        let (trainFeatures, testFeatures) = (try extractor.representations(of: train), try extractor.representations(of: test))
        let s = FeatureStandardization(fitting: trainFeatures)
        var c = ClassifierTrainingConfig.linearEvaluation
        c.epochs = demo.linearEpochs; c.steps = [demo.linearEpochs * 4 / 5]; c.baseLR = demo.standardizedLinearLR
        let probe = try ClassifierTrainer(encoder: alone.encoder, config: c, mode: .cachedFeatures)
            .run(trainFeatures: s.apply(trainFeatures), testFeatures: s.apply(testFeatures))
        XCTAssertEqual(row.standardizedLinearTop1, probe.last.top1)
        XCTAssertEqual(row.standardizedLinearTop1, result.random[0].standardizedLinearTop1)
        XCTAssertEqual(Demo.median([3, 1, 2]), 2)
        XCTAssertNil(Demo.median([]))
    }
}
