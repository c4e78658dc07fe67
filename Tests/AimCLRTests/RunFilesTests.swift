import Foundation
import NN
import TestSupport
import XCTest
@testable import AimCLR

/// What a pretraining run leaves for people and scripts: provenance, config.yaml, log.txt,
/// latest.safetensors, and linear evaluation's best model beside its last.
final class RunFilesTests: XCTestCase {
    static let tiny = ["--epochs", "2", "--batch-size", "4", "--queue-size", "8", "--hidden-channels", "4",
                       "--max-iterations", "1", "--seed", "5", "--device", "cpu"]

    func testVersionNamesTheCommit() throws {
        let r = try CLIBadInputTests.aimclr(["--version"], in: NSTemporaryDirectory())
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(AimCLRVersion.current) (commit \(AimCLRVersion.commit))\n")
        let commit = AimCLRVersion.commit
        XCTAssertTrue(commit == "unknown" || commit.range(of: "^[0-9a-f]{7,40}(-dirty)?$", options: .regularExpression) != nil, commit)
        // Built from this repository with git at hand, the commit must be one of its own.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        if commit != "unknown", FileManager.default.isExecutableFile(atPath: "/usr/bin/git") {
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            git.arguments = ["-C", root.path, "cat-file", "-e", String(commit.prefix { $0 != "-" }) + "^{commit}"]
            try git.run()
            git.waitUntilExit()
            XCTAssertEqual(git.terminationStatus, 0, "\(commit) is not a commit of \(root.path)")
        }
    }

    func testPretrainRunRecordsProvenanceConfigurationAndLatest() throws {
        let data = try Tiny.datasetFolder(samples: 12, seed: 25)
        let work = data + "/run"
        let r = try CLIBadInputTests.aimclr(["pretrain", "--data", data, "--work-dir", work] + Self.tiny, in: data)
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: work).sorted()
        XCTAssertEqual(names, ["config.yaml", "epoch2_model.safetensors", "latest.safetensors", "log.jsonl", "log.txt", "tensorboard"])

        // latest.safetensors: a link to the newest checkpoint.
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: work + "/latest.safetensors"), "epoch2_model.safetensors")

        // Checkpoint metadata and the log header carry the same provenance.
        let checkpoint = try SafeTensors.read(contentsOf: URL(fileURLWithPath: work + "/epoch2_model.safetensors"))
        let m = checkpoint.metadata
        XCTAssertEqual(m["aimclr_version"], AimCLRVersion.current)
        XCTAssertEqual(m["aimclr_commit"], AimCLRVersion.commit)
        XCTAssertEqual(m["host"], Provenance.hostName())
        let command = try JSONSerialization.jsonObject(with: Data((m["command_line"] ?? "").utf8)) as? [String]
        XCTAssertEqual(command?.dropFirst().first, "pretrain")
        XCTAssertEqual(command?.last, "cpu")
        let header = try String(contentsOfFile: work + "/log.jsonl", encoding: .utf8).split(separator: "\n").first
            .flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
        XCTAssertEqual(header["commit"] as? String, AimCLRVersion.commit)
        XCTAssertEqual(header["host"] as? String, m["host"])
        XCTAssertEqual(header["started"] as? String, m["started"])
        XCTAssertEqual(header["device"] as? String, m["device"])
        XCTAssertNotNil(ISO8601DateFormatter().date(from: m["started"] ?? ""), m["started"] ?? "")

        // log.txt: the header line, the command, the recipe note (lr 0.1 at batch 4), one line per epoch,
        // each followed by its health line (and a collapse warning where the untrained encoder has not spread yet).
        let lines = try String(contentsOfFile: work + "/log.txt", encoding: .utf8).split(separator: "\n")
        let extra = lines.filter { $0.contains("  note: ") || $0.contains("  health ") || $0.contains("  warning: epoch ") }
        XCTAssertEqual(extra.filter { $0.contains("  note: lr 0.1 at batch 4 ") }.count, 1, extra.joined(separator: "\n"))
        XCTAssertEqual(extra.filter { $0.contains("  health ") }.map { $0.contains("  health 1: ") || $0.contains("  health 2: ") }, [true, true])
        let text = lines.filter { !extra.contains($0) }
        XCTAssertEqual(text.count, 4, text.joined(separator: "\n"))
        XCTAssertTrue(text[0].contains("aimclr \(AimCLRVersion.current) (commit \(AimCLRVersion.commit)) on \(Provenance.hostName())"), String(text[0]))
        XCTAssertTrue(text[1].contains("command: ") && text[1].contains(" pretrain --data "), String(text[1]))
        XCTAssertTrue(text[2].contains("  epoch 1/2  loss "), String(text[2]))
        XCTAssertTrue(text[3].contains("  epoch 2/2  loss ") && text[3].contains("it/s)"), String(text[3]))

        // config.yaml is the checkpoint's configuration, and --config repeats the run from it.
        let stored = try PretrainCheckpoint.storedConfig(URL(fileURLWithPath: work + "/epoch2_model.safetensors"))
        XCTAssertEqual(try PretrainConfig.load(yaml: work + "/config.yaml").0, stored)
        let again = data + "/again"
        let a = try CLIBadInputTests.aimclr(["pretrain", "--config", work + "/config.yaml", "--work-dir", again, "--device", "cpu"], in: data)
        XCTAssertEqual(a.status, 0, a.stderr)
        var expected = stored
        expected.workDir = again
        XCTAssertEqual(try PretrainCheckpoint.storedConfig(URL(fileURLWithPath: again + "/epoch2_model.safetensors")), expected)
        let first = try SafeTensors.read(contentsOf: URL(fileURLWithPath: work + "/epoch2_model.safetensors"))
        let second = try SafeTensors.read(contentsOf: URL(fileURLWithPath: again + "/epoch2_model.safetensors"))
        XCTAssertEqual(first.entries.map(\.tensor), second.entries.map(\.tensor), "the repeated run trained differently")
    }

    func testLinearKeepsBestAndLastModelsWithProvenance() throws {
        let data = try TensorBoardTests.evaluationFolder()
        let out = data + "/linear"
        let r = try CLIBadInputTests.aimclr(["linear", "--random-init", "--data", data, "--epochs", "6", "--eval-interval", "2",
                                             "--batch-size", "4", "--hidden-channels", "4", "--no-tensorboard",
                                             "--device", "cpu", "--out", out], in: data)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/tensorboard"))
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/linear_result.json"))) as! [String: Any]
        let best = result["best"] as! [String: Any], last = result["last"] as! [String: Any]
        let provenance = result["provenance"] as! [String: Any]
        XCTAssertEqual(provenance["version"] as? String, AimCLRVersion.current)
        XCTAssertEqual(provenance["commit"] as? String, AimCLRVersion.commit)
        XCTAssertEqual(provenance["host"] as? String, Provenance.hostName())
        XCTAssertEqual((provenance["command_line"] as? [String])?.dropFirst().first, "linear")
        let bestModel = try SafeTensors.read(contentsOf: URL(fileURLWithPath: out + "/linear_best_model.safetensors"))
        let lastModel = try SafeTensors.read(contentsOf: URL(fileURLWithPath: out + "/linear_last_model.safetensors"))
        XCTAssertEqual(bestModel.metadata["epoch"], "\(best["epoch"] as! Int)")
        XCTAssertEqual(lastModel.metadata["epoch"], "\(last["epoch"] as! Int)")
        XCTAssertEqual(lastModel.metadata["epoch"], "6")
        XCTAssertEqual(bestModel.metadata["aimclr_commit"], AimCLRVersion.commit)
        XCTAssertEqual(bestModel.entries.map(\.name), lastModel.entries.map(\.name))
        // Only the fc trains: the backbone is shared, and the fc differs unless the best is the last.
        let fc = { (f: SafeTensors) in f.entries.first { $0.name == "fc.weight" }?.tensor }
        let backbone = { (f: SafeTensors) in f.entries.filter { !$0.name.hasPrefix("fc.") }.map(\.tensor) }
        XCTAssertEqual(backbone(bestModel), backbone(lastModel))
        XCTAssertNotNil(fc(bestModel))
        if best["epoch"] as? Int != 6 { XCTAssertNotEqual(fc(bestModel), fc(lastModel)) } else { XCTAssertEqual(fc(bestModel), fc(lastModel)) }

        XCTAssertGreaterThanOrEqual(best["top1"] as! Double, last["top1"] as! Double)
    }
}
