import Foundation
import XCTest
@testable import AimCLR
import NN
import Skeleton
import TestSupport

/// TensorBoard event files: the checksum against published vectors, and every run's scalars read
/// back by TensorBoard's own reader (the `tensorboard` package `make test` installs under .build).
final class TensorBoardTests: XCTestCase {
    func testCRC32CMatchesPublishedVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 (iSCSI) appendix B.4.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        let crc: UInt32 = 0xE306_9283
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    /// The bytes of one scalar record, field by field (TFRecord framing around an Event).
    func testScalarRecordLayout() throws {
        let dir = ScratchPaths.make("aimclr-tb").path
        let w = TensorBoardWriter(directory: dir, host: "test host")
        XCTAssertTrue(w.path.hasPrefix(dir + "/events.out.tfevents."), w.path)
        XCTAssertTrue(w.path.hasSuffix(".test_host"), w.path)
        w.add(step: 300, [("a", 1.5)], wallTime: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "nothing is written before the first flush")
        try w.flush()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: w.path)))
        // First record: wall_time + file_version "brain.Event:2" = 9 + 15 bytes.
        XCTAssertEqual(Array(bytes[0..<8]), [24, 0, 0, 0, 0, 0, 0, 0])
        let first = 8 + 4 + 24 + 4
        let event = Array(bytes[(first + 12)...].dropLast(4))
        let expected: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0, 0x40,         // wall_time 2.0
                                 0x10, 0xAC, 0x02,                         // step 300
                                 0x2A, 10, 0x0A, 8, 0x0A, 1, 0x61,         // summary { value { tag "a"
                                 0x15, 0, 0, 0xC0, 0x3F]                   //   simple_value 1.5 } }
        XCTAssertEqual(event, expected)
        let length = Array(bytes[first..<(first + 8)])
        XCTAssertEqual(length, [UInt8(expected.count), 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(bytes[(first + 8)..<(first + 12)]), withUnsafeBytes(of: CRC32C.masked(length).littleEndian, Array.init))
        XCTAssertEqual(Array(bytes.suffix(4)), withUnsafeBytes(of: CRC32C.masked(expected).littleEndian, Array.init))
    }

    func testPretrainScalarsReadBackInTensorBoard() throws {
        let data = try Tiny.datasetFolder(samples: 12, seed: 23)
        let work = data + "/run"
        let r = try CLIBadInputTests.aimclr(["pretrain", "--data", data, "--work-dir", work, "--epochs", "2", "--batch-size", "4",
                                             "--queue-size", "8", "--hidden-channels", "4", "--max-iterations", "1",
                                             "--mining-epoch", "1", "--seed", "3", "--device", "cpu"], in: data)
        XCTAssertEqual(r.status, 0, r.stderr)
        let scalars = try readScalars(work + "/tensorboard")
        let records = try String(contentsOfFile: work + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let iterations = records.filter { $0["type"] as? String == "iteration" }
        let epochs = records.filter { $0["type"] as? String == "epoch" }
        XCTAssertEqual(iterations.count, 2)
        XCTAssertEqual(epochs.count, 2)
        for (tag, key) in [("train/loss", "loss"), ("train/contrastive", "contrastive"), ("train/d3m_extreme", "d3mExtreme"),
                           ("train/d3m_dropped", "d3mDropped"), ("train/lr", "lr"), ("train/seconds_per_iteration", "seconds")] {
            assertSeries(scalars[tag], iterations.map { ($0["iteration"] as! Int, $0[key] as! Double) }, tag)
        }
        for (tag, key) in [("epoch/loss", "loss"), ("epoch/contrastive", "contrastive"), ("epoch/d3m_extreme", "d3mExtreme"),
                           ("epoch/d3m_dropped", "d3mDropped"), ("epoch/lr", "lr")] {
            assertSeries(scalars[tag], epochs.map { ($0["epoch"] as! Int, $0[key] as! Double) }, tag)
        }
        // One iteration per epoch: the rate is the inverse of the epoch's seconds.
        assertSeries(scalars["epoch/iterations_per_second"], epochs.map { ($0["epoch"] as! Int, 1 / ($0["seconds"] as! Double)) },
                     "epoch/iterations_per_second", relative: 1e-3)
        let health = records.filter { $0["type"] as? String == "health" }
        XCTAssertEqual(health.count, 2)
        for (tag, key) in [("health/alignment", "alignment"), ("health/uniformity", "uniformity"),
                           ("health/dimension_std", "dimensionStd"), ("health/positive_logit", "positiveLogit"),
                           ("health/negative_logit", "negativeLogit")] {
            assertSeries(scalars[tag], health.map { ($0["epoch"] as! Int, $0[key] as! Double) }, tag, relative: 1e-6)
        }
        // No val part beside the training data: no kNN monitor, no health/knn_top1.
        XCTAssertEqual(Set(scalars.keys).count, 17, "\(scalars.keys.sorted())")
        XCTAssertGreaterThan(scalars["train/loss"]?.first?.1 ?? 0, 0)

        // --no-tensorboard leaves no folder.
        let quiet = data + "/quiet"
        let q = try CLIBadInputTests.aimclr(["pretrain", "--data", data, "--work-dir", quiet, "--epochs", "1", "--batch-size", "4",
                                             "--queue-size", "8", "--hidden-channels", "4", "--max-iterations", "1",
                                             "--no-tensorboard", "--device", "cpu"], in: data)
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: quiet + "/tensorboard"))
    }

    func testEvaluationAccuraciesReadBackInTensorBoard() throws {
        let data = try Self.evaluationFolder()
        let out = data + "/linear"
        let r = try CLIBadInputTests.aimclr(["linear", "--random-init", "--data", data, "--epochs", "4", "--eval-interval", "2",
                                             "--batch-size", "4", "--hidden-channels", "4", "--device", "cpu", "--out", out], in: data)
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/linear_result.json"))) as! [String: Any]
        let history = result["history"] as! [[String: Any]]
        let scalars = try readScalars(out + "/tensorboard")
        XCTAssertEqual(Set(scalars.keys), ["eval/top1", "eval/top5", "train/loss", "train/lr"])
        assertSeries(scalars["eval/top1"], history.map { ($0["epoch"] as! Int, $0["top1"] as! Double) }, "eval/top1")
        assertSeries(scalars["eval/top5"], history.map { ($0["epoch"] as! Int, $0["top5"] as! Double) }, "eval/top5")
        assertSeries(scalars["train/loss"], history.map { ($0["epoch"] as! Int, $0["trainLoss"] as! Double) }, "train/loss")
        XCTAssertEqual(scalars["eval/top1"]?.map(\.0), [2, 4])

        let knnOut = data + "/knn"
        let k = try CLIBadInputTests.aimclr(["knn", "--random-init", "--data", data, "--k", "3", "--batch-size", "4",
                                             "--hidden-channels", "4", "--device", "cpu", "--out", knnOut], in: data)
        XCTAssertEqual(k.status, 0, k.stderr)
        let knn = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: knnOut + "/knn_result.json"))) as! [String: Any]
        let knnScalars = try readScalars(knnOut + "/tensorboard")
        assertSeries(knnScalars["knn/top1"], [(0, knn["top1"] as! Double)], "knn/top1")
        assertSeries(knnScalars["knn/top5"], [(0, knn["top5"] as! Double)], "knn/top5")
    }

    // MARK: Helpers

    /// train and val parts of 12 learnable samples each (3 classes).
    static func evaluationFolder() throws -> String {
        let dir = ScratchPaths.make("aimclr-tb-eval").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (part, seed) in [("train", UInt64(31)), ("val", UInt64(32))] {
            let set = try EvalTiny.set(count: 12, seed: seed, name: part)
            try set.positions.write(to: dir + "/\(part)_position.npy")
            try LabelFile(names: set.names, labels: set.labels).write(to: dir + "/\(part)_label.pkl")
        }
        return dir
    }

    /// The Python of the virtual environment `make test` creates, or $AIMCLR_TENSORBOARD_PYTHON.
    func tensorBoardPython() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var candidates = [root.appendingPathComponent(".build/tbvenv/bin/python3").path]
        if let env = ProcessInfo.processInfo.environment["AIMCLR_TENSORBOARD_PYTHON"] { candidates.insert(env, at: 0) }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("no Python with the tensorboard package (looked at \(candidates)); `make test` creates .build/tbvenv")
        }
        return found
    }

    /// Every scalar under `folder` as TensorBoard's EventAccumulator reads it: tag -> [(step, value)].
    func readScalars(_ folder: String) throws -> [String: [(Int, Double)]] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/read_tensorboard.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try tensorBoardPython())
        p.arguments = [script, folder]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            XCTFail("TensorBoard's reader failed on \(folder): \(stderr)")
            return [:]
        }
        let json = try JSONSerialization.jsonObject(with: stdout) as? [String: [[Double]]] ?? [:]
        return json.mapValues { $0.map { (Int($0[0]), $0[1]) } }
    }

    /// Steps equal, values equal to the float32 rounding of `expected` (within `relative`).
    func assertSeries(_ got: [(Int, Double)]?, _ expected: [(Int, Double)], _ tag: String, relative: Double = 0,
                      file: StaticString = #filePath, line: UInt = #line) {
        guard let got else { return XCTFail("\(tag) missing", file: file, line: line) }
        XCTAssertEqual(got.map(\.0), expected.map(\.0), "\(tag) steps", file: file, line: line)
        for ((_, g), (step, e)) in zip(got, expected) {
            let want = Double(Float(e))
            XCTAssertEqual(g, want, accuracy: max(relative * abs(want), abs(want) * 1e-7), "\(tag) at step \(step)", file: file, line: line)
        }
    }
}
