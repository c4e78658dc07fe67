import CPUBackend
import Foundation
import TestSupport
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// `mpirun -np 2 aimclr knn | linear | embed`: the ranks share the feature extraction and rank 0
/// writes the same results as one process. Skipped without Open MPI.
///
/// Tolerance: none. Each rank encodes whole batches of the one-process run in eval mode, and both
/// runs use one CPU thread per process (`--threads 1`), so the features, and everything computed
/// from them, are bit-identical.
extension DataParallelTests {
    /// The common flags: a random tiny encoder, batch 16 over 100 samples (7 batches, the last
    /// partial; ranks take 3 and 4), the CPU backend with one thread in every process.
    func evaluationArguments(data: String, out: String) -> [String] {
        ["--data", data, "--train-part", "train", "--test-part", "train", "--random-init", "--hidden-channels", "4",
         "--batch-size", "16", "--seed", "3", "--out", out, "--device", "cpu", "--threads", "1", "--no-tensorboard"]
    }

    /// Runs `arguments` once alone and once under `mpirun -np 2`; returns both outputs.
    func runAloneAndOnTwoRanks(_ arguments: (String) -> [String], data: String, name: String) throws -> (one: String, two: String) {
        let exe = try aimclrBinary().path
        let (s1, o1) = try run(exe, arguments(data + "/\(name)1"), log: data + "/\(name)1.log")
        XCTAssertEqual(s1, 0, o1)
        let (s2, o2) = try run(Self.mpirun, ["-np", "2"] + mpirunFlags + [exe] + arguments(data + "/\(name)2"),
                               log: data + "/\(name)2.log")
        XCTAssertEqual(s2, 0, o2)
        return (o1, o2)
    }

    func summary(_ path: String) throws -> EvaluationSummary {
        try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testKNNOnTwoRanksEqualsOneRank() throws {
        try requireMPI()
        let data = try Tiny.datasetFolder(samples: 100, seed: 41)
        let (o1, o2) = try runAloneAndOnTwoRanks({ ["knn", "--k", "5"] + self.evaluationArguments(data: data, out: $0) },
                                                 data: data, name: "knn")
        let one = try summary(data + "/knn1/knn_result.json"), two = try summary(data + "/knn2/knn_result.json")
        XCTAssertEqual(one.top1, two.top1)
        XCTAssertEqual(one.top5, two.top5)
        XCTAssertEqual(one.report.confusion, two.report.confusion)
        // Rank 0 reports once: rank 1's standard output is silenced.
        XCTAssertEqual(o1.components(separatedBy: "kNN (k 5").count, 2, o1)
        XCTAssertEqual(o2.components(separatedBy: "kNN (k 5").count, 2, o2)
    }

    /// linear (cached features gathered from both ranks, the fc trained on every rank) and then embed
    /// of the trained classifier's logits: result, saved model and embedding equal the one-process run's.
    func testLinearAndEmbedOnTwoRanksEqualOneRank() throws {
        try requireMPI()
        let data = try Tiny.datasetFolder(samples: 100, seed: 43)
        _ = try runAloneAndOnTwoRanks({ ["linear", "--epochs", "2", "--eval-interval", "1", "--lr", "0.5"]
                                        + self.evaluationArguments(data: data, out: $0) }, data: data, name: "linear")
        let one = try summary(data + "/linear1/linear_result.json"), two = try summary(data + "/linear2/linear_result.json")
        XCTAssertEqual(one.top1, two.top1)
        XCTAssertEqual(one.history?.map(\.trainLoss), two.history?.map(\.trainLoss))
        let model = data + "/linear1/linear_last_model.safetensors"
        let a = try SafeTensors.read(contentsOf: URL(fileURLWithPath: model))
        let b = try SafeTensors.read(contentsOf: URL(fileURLWithPath: data + "/linear2/linear_last_model.safetensors"))
        XCTAssertEqual(a.entries.map(\.name), b.entries.map(\.name))
        for (x, y) in zip(a.entries, b.entries) { XCTAssertEqual(x.tensor, y.tensor, "\(x.name) differs") }

        _ = try runAloneAndOnTwoRanks({ ["embed", "--checkpoint", model, "--data", data + "/train_position.npy",
                                         "--output", "logits", "--batch-size", "16", "--device", "cpu", "--threads", "1",
                                         "--out", $0 + ".npy"] }, data: data, name: "embed")
        let e1 = try NpyArray.read(data + "/embed1.npy"), e2 = try NpyArray.read(data + "/embed2.npy")
        XCTAssertEqual(e1.shape, [100, 3])
        XCTAssertEqual(e1.shape, e2.shape)
        let v1 = try e1.floats(), v2 = try e2.floats()
        XCTAssertEqual(v1, v2)
        XCTAssertGreaterThan(v1.map { abs($0) }.max() ?? 0, 0)
    }
}

extension DataParallelTests {
    /// `mpirun -np 2 aimclr bench step`: rank 0 reports the job, and the bytes it sent per iteration
    /// cover at least the flat gradient all-reduce (4 bytes per trainable parameter of the query
    /// encoder) plus the synchronised BN and key gathers, but not a second copy of the gradients.
    func testBenchStepOnTwoRanksReportsCommunication() throws {
        try requireMPI()
        let dir = ScratchPaths.make("aimclr-bench").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let json = dir + "/step.jsonl"
        let (status, output) = try run(Self.mpirun, ["-np", "2"] + mpirunFlags + [try aimclrBinary().path, "bench", "step",
            "--device", "cpu", "--batch", "4", "--queue-size", "64", "--hidden-channels", "2", "--runs", "1", "--warmup", "1",
            "--json", json], log: dir + "/bench.log")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("2 ranks x 2 samples: median"), output)
        let lines = try String(contentsOfFile: json, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "only rank 0 writes the JSON line")
        let r = try JSONDecoder().decode(StepBenchmarkLine.self, from: Data(lines[0].utf8))
        XCTAssertEqual(r.ranks, 2)
        var c = PretrainConfig()
        c.batchSize = 4; c.queueSize = 64; c.hiddenChannels = 2
        let model = try AimCLRModel(config: c, device: CPUDevice(threads: 1), adjacency: SpatialGraph(layout: .ntuRGBD).adjacency,
                                    joints: 25, frames: 50, persons: 2)
        let gradientBytes = Double(4 * model.encoderQ.parameters.filter(\.trainable).reduce(0) { $0 + $1.count })
        XCTAssertGreaterThan(r.bytesSentPerIteration, gradientBytes)
        XCTAssertLessThan(r.bytesSentPerIteration, 1.5 * gradientBytes)
        XCTAssertGreaterThan(r.communicationSecondsPerIteration, 0)
        XCTAssertGreaterThan(r.collectivesPerIteration, 10)
    }
}

/// The fields of a `bench step` JSON line this test reads.
struct StepBenchmarkLine: Decodable {
    var ranks: Int
    var bytesSentPerIteration: Double
    var communicationSecondsPerIteration: Double
    var collectivesPerIteration: Double
}

extension DataParallelTests {
    /// `finetune` (whole network, eval-mode BN, augmented): 2 ranks × 8 against 1 rank × 16 for
    /// 2 epochs of 6 steps. Only the gradient summation order differs (each rank sums its 8
    /// samples, then the all-reduce), so every tensor of the saved model agrees within 1e-4 of its
    /// largest magnitude (floor 1e-2), and the training losses within 1e-5 relative.
    func testFinetuneOnTwoRanksEqualsOneRank() throws {
        try requireMPI()
        let data = try Tiny.datasetFolder(samples: 100, seed: 47)
        _ = try runAloneAndOnTwoRanks({ ["finetune", "--epochs", "2", "--eval-interval", "1", "--lr", "0.1"]
                                        + self.evaluationArguments(data: data, out: $0) }, data: data, name: "finetune")
        let one = try summary(data + "/finetune1/finetune_result.json"), two = try summary(data + "/finetune2/finetune_result.json")
        let l1 = one.history?.map(\.trainLoss) ?? [], l2 = two.history?.map(\.trainLoss) ?? []
        XCTAssertEqual(l1.count, 2)
        for (a, b) in zip(l1, l2) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(a)) }
        let a = try SafeTensors.read(contentsOf: URL(fileURLWithPath: data + "/finetune1/finetune_last_model.safetensors"))
        let b = try SafeTensors.read(contentsOf: URL(fileURLWithPath: data + "/finetune2/finetune_last_model.safetensors"))
        XCTAssertEqual(a.entries.map(\.name), b.entries.map(\.name))
        var worst = 0.0
        for (x, y) in zip(a.entries, b.entries) {
            guard case .float32 = x.tensor.storage else { XCTAssertEqual(x.tensor, y.tensor, x.name); continue }
            let (diff, scale) = deviation(x.tensor, y.tensor)
            XCTAssertLessThanOrEqual(diff, 1e-4 * max(scale, 1e-2), "\(x.name): 2 ranks differ by \(diff) (scale \(scale))")
            worst = max(worst, diff / max(scale, 1e-2))
        }
        print("finetune 2 ranks vs 1: worst relative deviation \(worst)")
    }
}
