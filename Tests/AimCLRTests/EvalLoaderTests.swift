import Compute
import CPUBackend
import Foundation
import TestSupport
import XCTest
@testable import AimCLR
import NN
import Skeleton

final class EvalLoaderTests: XCTestCase {
    func tempDir() throws -> URL {
        let url = ScratchPaths.make("aimclr-load")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func testLoadsTheQueryEncoderOfAPretrainingCheckpoint() throws {
        let d = CPUDevice(threads: 1)
        let model = try Tiny.model(Tiny.config(), device: d)
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(CheckpointFiles.fileName(epoch: 1))
        try PretrainCheckpoint.save(model, epoch: 1, to: url)

        let loaded = try EncoderLoader.load(.checkpoint(path: url.path), layout: .ntuRGBD, numClass: 5, device: d, headSeed: 3)
        XCTAssertEqual(loaded.kind, "pretrain")
        XCTAssertEqual(loaded.shape.hiddenChannels, 4)
        XCTAssertEqual(loaded.shape.hiddenDim, 16)
        XCTAssertFalse(loaded.loadedClassifier)
        let e = loaded.encoder
        for p in model.encoderQ.backboneParameters {
            XCTAssertEqual(d.read(e.parameter(named: p.name)!.value), d.read(p.value), p.name)
        }
        for (a, b) in zip(e.buffers, model.encoderQ.buffers) { XCTAssertEqual(d.read(a.value), d.read(b.value), a.name) }
        // Not the key encoder.
        let name = "st_gcn_networks.2.tcn.2.weight"
        XCTAssertNotEqual(d.read(e.parameter(named: name)!.value), d.read(model.encoderK.parameter(named: name)!.value))
        // A fresh 5-class fc.
        XCTAssertEqual(e.head.parameters[0].shape, [5, 16])
        XCTAssertEqual(d.read(e.head.parameters[1].value), [Float](repeating: 0, count: 5))
    }

    func testClassifierCheckpointsLoadWithTheirHeadWhenAsked() throws {
        let d = CPUDevice(threads: 1)
        let source = try EvalTiny.encoder(classes: 4, device: d, seed: 11)
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("classifier.safetensors")
        try SafeTensors(entries: source.exportState()).write(to: url)
        let kept = try EncoderLoader.load(.checkpoint(path: url.path), layout: .ntuRGBD, numClass: 4, device: d, headSeed: 1,
                                          keepClassifier: true)
        XCTAssertEqual(kept.kind, "classifier")
        XCTAssertTrue(kept.loadedClassifier)
        XCTAssertEqual(d.read(kept.encoder.head.parameters[0].value), d.read(source.head.parameters[0].value))
        let fresh = try EncoderLoader.load(.checkpoint(path: url.path), layout: .ntuRGBD, numClass: 7, device: d, headSeed: 1,
                                           keepClassifier: true)
        XCTAssertFalse(fresh.loadedClassifier, "a head of another class count is not loaded")
        XCTAssertEqual(d.read(fresh.encoder.parameters[0].value), d.read(source.parameters[0].value))
    }

    func testRandomInitIsSeededAndUnreadableFilesAreClear() throws {
        let d = CPUDevice(threads: 1)
        let a = try EncoderLoader.load(.randomInit(seed: 4), layout: .ntuRGBD, numClass: 3, device: d, randomShape: EvalTiny.shape)
        let b = try EncoderLoader.load(.randomInit(seed: 4), layout: .ntuRGBD, numClass: 3, device: d, randomShape: EvalTiny.shape)
        let c = try EncoderLoader.load(.randomInit(seed: 5), layout: .ntuRGBD, numClass: 3, device: d, randomShape: EvalTiny.shape)
        let name = "st_gcn_networks.1.gcn.conv.weight"
        XCTAssertEqual(d.read(a.encoder.parameter(named: name)!.value), d.read(b.encoder.parameter(named: name)!.value))
        XCTAssertNotEqual(d.read(a.encoder.parameter(named: name)!.value), d.read(c.encoder.parameter(named: name)!.value))
        XCTAssertThrowsError(try EncoderLoader.readTensors(path: "/nonexistent/epoch300_model.pt")) { error in
            guard case .checkpoint(let file, _) = error as? EvaluationError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/nonexistent/epoch300_model.pt")
        }
        XCTAssertThrowsError(try EncoderLoader.readTensors(path: "/nonexistent/epoch300_model.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("epoch300_model.safetensors"))
        }
    }

    /// PyTorch checkpoints go through the same reader (the fixture is a partial encoder state dict).
    func testPtCheckpointsAreReadAndTheirEncoderFound() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tiny_state_dict.pt").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no .pt fixture at \(path)") }
        let tensors = try EncoderLoader.readTensors(path: path)
        XCTAssertEqual(try EncoderLoader.encoderPrefix(tensors, file: path), "encoder_q.")
        XCTAssertEqual(tensors["encoder_q.data_bn.weight"]?.shape, [6])
        // Incomplete as an encoder: the loader names what is missing.
        XCTAssertThrowsError(try EncoderLoader.inferShape(tensors, prefix: "encoder_q.", joints: 2, file: path)) { error in
            XCTAssertTrue("\(error)".contains("missing 'encoder_q."), "\(error)")
        }
    }
}
