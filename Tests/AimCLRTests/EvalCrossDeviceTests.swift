import Compute
import CPUBackend
import Foundation
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// The evaluation protocols on the OpenCL backend (pocl in CI) against the CPU backend.
final class EvalCrossDeviceTests: XCTestCase {
    func testFeatureExtractionAndLinearEvaluationAgreeBetweenCPUAndOpenCL() throws {
        guard let gpu = try Tiny.openCL() else { return }
        let cpu = CPUDevice(threads: 1)
        let train = try EvalTiny.set(count: 12, seed: 1, name: "t"), test = try EvalTiny.set(count: 7, seed: 2, name: "v")
        let reference = try EvalTiny.encoder(device: cpu, calibrateOn: train)
        let state = Dictionary(uniqueKeysWithValues: reference.exportState().map { ($0.name, $0.tensor) })
        let other = try EncoderLoader.load(tensors: state, file: "<memory>", layout: .ntuRGBD, numClass: 3, device: gpu,
                                           keepClassifier: true).encoder
        for stream in [SkeletonStream.joint, .bone] {
            let a = try FeatureExtractor(encoder: reference, batchSize: 5, stream: stream).representations(of: test)
            let b = try FeatureExtractor(encoder: other, batchSize: 5, stream: stream).representations(of: test)
            assertClose(b.values, a.values, abs: 1e-4, rel: 1e-3, "\(stream) representations")
        }
        var c = ClassifierTrainingConfig.linearEvaluation
        c.epochs = 2; c.batchSize = 4; c.evalInterval = 1; c.baseLR = 0.5
        let oa = try ClassifierTrainer(encoder: reference, config: c, mode: .cachedFeatures).run(train: train, test: test)
        let ob = try ClassifierTrainer(encoder: other, config: c, mode: .cachedFeatures).run(train: train, test: test)
        assertClose(ob.bestLogits, oa.bestLogits, abs: 1e-3, rel: 1e-3, "linear-evaluation logits")
        let knnA = try KNNClassifier(k: 5).scores(bank: FeatureExtractor(encoder: reference).representations(of: train),
                                                  test: FeatureExtractor(encoder: reference).representations(of: test), classes: 3, device: cpu)
        let knnB = try KNNClassifier(k: 5).scores(bank: FeatureExtractor(encoder: other).representations(of: train),
                                                  test: FeatureExtractor(encoder: other).representations(of: test), classes: 3, device: gpu)
        assertClose(knnB, knnA, abs: 1e-2, rel: 1e-2, "kNN votes")
    }

    /// Semi-supervised training of the whole network (eval mode, augmentation, clipping) on both backends.
    func testWholeNetworkTrainingAgreesBetweenCPUAndOpenCL() throws {
        guard let gpu = try Tiny.openCL() else { return }
        let cpu = CPUDevice(threads: 1)
        let train = try EvalTiny.set(count: 8, seed: 1, name: "t"), test = try EvalTiny.set(count: 5, seed: 2, name: "v")
        let reference = try EvalTiny.encoder(device: cpu, calibrateOn: train)
        let state = Dictionary(uniqueKeysWithValues: reference.exportState().map { ($0.name, $0.tensor) })
        let other = try EncoderLoader.load(tensors: state, file: "<memory>", layout: .ntuRGBD, numClass: 3, device: gpu,
                                           keepClassifier: true).encoder
        var c = ClassifierTrainingConfig.fineTuning(labelFraction: 0.1)
        c.epochs = 1; c.batchSize = 4; c.baseLR = 0.05
        let oa = try ClassifierTrainer(encoder: reference, config: c, mode: .wholeNetwork).run(train: train, test: test)
        let ob = try ClassifierTrainer(encoder: other, config: c, mode: .wholeNetwork).run(train: train, test: test)
        XCTAssertEqual(oa.history[0].trainLoss, ob.history[0].trainLoss, accuracy: 1e-3 * max(1, abs(oa.history[0].trainLoss)))
        assertClose(ob.bestLogits, oa.bestLogits, abs: 2e-3, rel: 2e-3, "fine-tuned logits")
        let name = "st_gcn_networks.9.tcn.2.weight"
        assertClose(gpu.read(other.parameter(named: name)!.value), cpu.read(reference.parameter(named: name)!.value),
                    abs: 1e-4, rel: 1e-3, name)
    }
}
