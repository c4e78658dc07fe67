import Compute
import CPUBackend
import Foundation
import NN
import Skeleton
import TestSupport
import XCTest
@testable import AimCLR

/// Whole-step behaviour: checkpoints, resume, cross-device parity and learning.
final class PretrainTests: XCTestCase {
    func temporaryFile(_ name: String) -> URL {
        ScratchPaths.make("aimclr-\(name)")
    }

    func testCheckpointHasReferenceNamesAndRoundTrips() throws {
        let d = CPUDevice()
        let c = Tiny.config()
        let model = try Tiny.model(c, device: d)
        try model.step(Tiny.views(batch: c.batchSize, seed: 1), epoch: 1)
        let url = temporaryFile("ckpt.safetensors")
        try PretrainCheckpoint.save(model, epoch: 1, to: url)
        let file = try SafeTensors.read(contentsOf: url)
        let names = Set(file.entries.map(\.name))
        for expected in ["encoder_q.data_bn.weight", "encoder_q.data_bn.running_var", "encoder_q.data_bn.num_batches_tracked",
                         "encoder_q.st_gcn_networks.0.gcn.conv.weight", "encoder_q.st_gcn_networks.0.tcn.2.weight",
                         "encoder_q.st_gcn_networks.4.residual.0.weight", "encoder_q.edge_importance.0",
                         "encoder_q.fc.0.weight", "encoder_q.fc.2.bias", "encoder_q.A",
                         "encoder_k.st_gcn_networks.9.tcn.3.running_mean", "encoder_k.fc.2.weight", "queue", "queue_ptr"] {
            XCTAssertTrue(names.contains(expected), "checkpoint lacks \(expected)")
        }
        XCTAssertEqual(file["encoder_q.st_gcn_networks.0.gcn.conv.weight"]?.shape, [12, 3, 1, 1])
        XCTAssertEqual(file["queue"]?.shape, [c.featureDim, c.queueSize])
        XCTAssertEqual(file["queue_ptr"]?.int64s, [Int64(c.batchSize)])

        // Loading into a fresh model reproduces every tensor, the queue pointer and the iteration.
        let fresh = try Tiny.model(c, device: d)
        let state = try PretrainCheckpoint.load(url, into: fresh)
        XCTAssertEqual(state.epoch, 1)
        XCTAssertEqual(fresh.iteration, 1)
        XCTAssertEqual(fresh.queue.pointer, c.batchSize)
        for (a, b) in zip(model.encoderQ.parameters, fresh.encoderQ.parameters) {
            XCTAssertEqual(d.read(a.value), d.read(b.value), a.name)
            XCTAssertEqual(d.read(a.momentumBuffer!), d.read(b.momentumBuffer!), a.name + " momentum")
        }

        // A flipped byte in the data is caught by the checksum.
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: url)
        XCTAssertThrowsError(try PretrainCheckpoint.load(url, into: fresh)) { error in
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
    }

    func testResumeReproducesAnUninterruptedRun() throws {
        let data = try Tiny.datasetFolder(samples: 12, seed: 5)
        var c = Tiny.config()
        c.dataPath = data + "/train_position.npy"
        c.labelPath = data + "/train_label.pkl"
        c.numEpoch = 3
        c.miningEpoch = 2 // the last epoch uses NNM
        c.workDir = data + "/straight"
        let straight = try Pretrainer(config: c, device: CPUDevice())
        straight.warn = { _ in }
        try straight.run(resume: false)

        var first = c
        first.workDir = data + "/resumed"
        first.numEpoch = 2
        let part1 = try Pretrainer(config: first, device: CPUDevice())
        try part1.run(resume: false)
        var second = first
        second.numEpoch = 3
        let part2 = try Pretrainer(config: second, device: CPUDevice())
        try part2.run(resume: true)

        let a = try SafeTensors.read(contentsOf: URL(fileURLWithPath: c.workDir + "/epoch3_model.safetensors"))
        let b = try SafeTensors.read(contentsOf: URL(fileURLWithPath: second.workDir + "/epoch3_model.safetensors"))
        XCTAssertEqual(a.entries.map(\.name), b.entries.map(\.name))
        for (x, y) in zip(a.entries, b.entries) {
            XCTAssertEqual(x.tensor, y.tensor, "\(x.name) differs between the straight and the resumed run")
        }
        // The losses logged for epoch 3 agree too.
        func epochLosses(_ dir: String) throws -> [String] {
            try String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8).split(separator: "\n")
                .filter { $0.contains("\"type\":\"epoch\"") && $0.contains("\"epoch\":3") }
                .map { String($0.split(separator: ",").filter { $0.contains("\"loss\"") }.first ?? "") }
        }
        XCTAssertEqual(try epochLosses(c.workDir), try epochLosses(second.workDir))
    }

    func testOneStepAgreesBetweenCPUAndOpenCL() throws {
        guard let cl = try Tiny.openCL() else { return }
        let cpu = CPUDevice()
        let c = Tiny.config()
        let a = try Tiny.model(c, device: cpu), b = try Tiny.model(c, device: cl)
        let views = Tiny.views(batch: c.batchSize, seed: 3)
        let before = a.encoderQ.parameters.map { cpu.read($0.value) }
        for epoch in [1, c.miningEpoch + 1] { // InfoNCE, then NNM
            let la = try a.step(views, epoch: epoch), lb = try b.step(views, epoch: epoch)
            XCTAssertEqual(la.contrastive, lb.contrastive, accuracy: 1e-3 * max(1, abs(la.contrastive)))
            XCTAssertEqual(la.d3mExtreme, lb.d3mExtreme, accuracy: 1e-3 * max(1, abs(la.d3mExtreme)))
            XCTAssertEqual(la.d3mDropped, lb.d3mDropped, accuracy: 1e-3 * max(1, abs(la.d3mDropped)))
        }
        // Parameter updates agree per tensor within 2e-2 of the tensor's largest update (spec §9).
        for (i, (pa, pb)) in zip(a.encoderQ.parameters, b.encoderQ.parameters).enumerated() {
            let wa = cpu.read(pa.value), wb = cl.read(pb.value)
            let delta = zip(wa, before[i]).map { abs($0 - $1) }.max() ?? 0
            // Biases straight before a train-mode BatchNorm have an exactly-zero gradient: their
            // update is rounding noise, compared with an absolute tolerance (spec §9).
            let beforeBN = pa.name.hasSuffix("tcn.2.bias") || pa.name.hasSuffix("residual.0.bias")
            let tol = beforeBN ? Float(1e-5) : 2e-2 * delta + 1e-6
            let worst = zip(wa, wb).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, tol, "\(pa.name): CPU/OpenCL differ by \(worst), update size \(delta)")
        }
        XCTAssertEqual(cpu.read(a.queue.keys).count, cl.read(b.queue.keys).count)
        assertClose(cl.read(b.queue.keys), cpu.read(a.queue.keys), abs: 1e-4, rel: 1e-3, "queue after two steps")
    }

    func testShortPretrainingLowersTheContrastiveLoss() throws {
        // A fixed set of related views; the key encoder starts as a copy of the query encoder and
        // follows it with momentum 0.99. Once the queue holds real keys (after 4 steps) the task is
        // stationary, and a working objective, backward and optimiser must lower the InfoNCE term.
        let d = CPUDevice()
        var c = Tiny.config(batch: 8, queue: 32)
        c.dropout = 0
        c.momentum = 0.99
        c.baseLR = 0.02
        let model = try Tiny.model(c, device: d)
        try model.encoderK.copyState(from: model.encoderQ)
        let views = Tiny.relatedViews(batch: c.batchSize, seed: 21)
        var history: [Float] = []
        for _ in 0..<60 { history.append(try model.step(views, epoch: 1).contrastive) }
        let early = history[8..<13].reduce(0, +) / 5, late = history[55..<60].reduce(0, +) / 5
        XCTAssertLessThan(late, early - 0.05, "InfoNCE should fall once the queue is full: \(early) -> \(late)")
    }
}

/// Pretraining through the whole pipeline (synthetic NTU-25 data, loader, augmentations,
/// Pretrainer) lowers the InfoNCE loss.
final class SyntheticPretrainingTests: XCTestCase {
    /// A batch larger than the data set would train nothing (the partial batch is dropped) and
    /// could never fill the queue: refused up front, naming the key.
    func testBatchLargerThanTheDataIsAClearError() throws {
        let data = try Tiny.datasetFolder(samples: 4, seed: 3)
        var c = Tiny.config(batch: 8, queue: 16)
        c.dataPath = data + "/train_position.npy"
        c.labelPath = data + "/train_label.pkl"
        c.workDir = ScratchPaths.make("aimclr-small").path
        c.queueWarmup = true
        XCTAssertThrowsError(try Pretrainer(config: c, device: CPUDevice(), warn: { _ in })) {
            XCTAssertTrue("\($0)".contains("batch_size") && "\($0)".contains("4 samples"), "\($0)")
        }
    }

    func testShortPretrainingOnSyntheticDataLowersInfoNCE() throws {
        let root = ScratchPaths.make("aimclr-synthetic")
        defer { try? FileManager.default.removeItem(at: root) }
        var data = SyntheticConfig()
        data.trainCount = 128
        data.valCount = 13
        try SyntheticDataset.generate(data, to: root.appendingPathComponent("data").path)

        var c = PretrainConfig()
        c.dataPath = root.appendingPathComponent("data/train_position.npy").path
        c.labelPath = root.appendingPathComponent("data/train_label.pkl").path
        c.workDir = root.appendingPathComponent("run").path
        c.hiddenChannels = 4
        c.hiddenDim = 16
        c.featureDim = 16
        c.batchSize = 8
        c.queueSize = 32
        c.numEpoch = 2
        c.steps = []
        c.saveInterval = 2
        c.baseLR = 0.05
        c.momentum = 0.99
        c.queueWarmup = true
        let trainer = try Pretrainer(config: c, device: CPUDevice(), warn: { _ in })
        try trainer.run(resume: false)

        let lines = try String(contentsOfFile: c.workDir + "/log.jsonl", encoding: .utf8).split(separator: "\n")
        let info: [Float] = try lines.compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["type"] as? String == "iteration" ? (object["contrastive"] as! NSNumber).floatValue : nil
        }
        XCTAssertEqual(info.count, 32)
        // The untrained encoders map every sample to nearly the same embedding, so against the
        // warmed-up queue of real keys InfoNCE starts at chance, ln(K + 1). The next few steps are
        // easy (the queue's keys come from the untrained key encoder and stand out from the
        // current ones); once the queue holds only recent keys the loss measures instance
        // discrimination, and by the end it must sit clearly below chance.
        let chance = Float(log(Double(c.queueSize + 1)))
        XCTAssertEqual(info[0], chance, accuracy: 0.3, "first iteration: \(info[0])")
        let last = info[24..<32].reduce(0, +) / 8
        XCTAssertLessThan(last, chance - 0.2, "InfoNCE over the run: \(info)")
        let turnedOver = info[2 * c.queueSize / c.batchSize ..< 16].max()!
        XCTAssertLessThan(last, turnedOver - 0.1, "InfoNCE over the run: \(info)")
    }
}
