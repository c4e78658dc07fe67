import Foundation
import NN
import Skeleton
import TestSupport
import XCTest
@testable import AimCLR

/// The built `aimclr` over bad inputs: each must end with exit status 1 or 2 and exactly one
/// line on standard error naming the file or flag, never a trap or a backtrace, and must leave
/// every folder as it was. Data is tiny (synthetic, 8 + 4 samples) so the table runs in seconds.
final class CLIBadInputTests: XCTestCase {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
    }

    /// Runs `aimclr args` in `directory` with its output in files (no pipe can fill up).
    /// `environment` entries are added to this process's environment.
    static func aimclr(_ args: [String], in directory: String, environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = try aimclrBinary()
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = directory + "/.stdout-\(UUID().uuidString)", err = directory + "/.stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        defer { unlink(out); unlink(err) }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try p.run()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Every file and folder under `root` with its size and modification time (output files excluded).
    static func snapshot(_ root: String) -> [String: String] {
        var result: [String: String] = [:]
        guard let e = FileManager.default.enumerator(atPath: root) else { return result }
        for case let path as String in e where !path.contains(".stdout-") && !path.contains(".stderr-") {
            let a = (try? FileManager.default.attributesOfItem(atPath: root + "/" + path)) ?? [:]
            result[path] = "\(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        }
        return result
    }

    /// A scratch folder with: D (synthetic train/val), K20 (20-joint arrays), RUN (a finished
    /// one-iteration pretraining run), NPYDIR (train_position.npy is a folder), LAYOUT.json (a folder),
    /// FILE (a regular file),
    /// NAN (D with a NaN in val sample 1).
    struct Fixture {
        let root: String
        var d: String { root + "/D" }
        var k20: String { root + "/K20" }
        var run: String { root + "/RUN" }
        var checkpoint: String { run + "/epoch1_model.safetensors" }
        var npyDir: String { root + "/NPYDIR" }
        var file: String { root + "/FILE" }
        var nan: String { root + "/NAN" }
    }

    nonisolated(unsafe) static var shared: Fixture?

    func fixture() throws -> Fixture {
        if let f = Self.shared { return f }
        let root = ScratchPaths.make("aimclr-cli").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let f = Fixture(root: root)
        let synth = try Self.aimclr(["synth", "--out", "D", "--train", "8", "--val", "4", "--seed", "1"], in: root)
        XCTAssertEqual(synth.status, 0, synth.stderr)
        let pretrain = try Self.aimclr(["pretrain", "--data", "D", "--work-dir", "RUN", "--epochs", "1", "--batch-size", "4",
                                        "--queue-size", "8", "--hidden-channels", "4", "--max-iterations", "1",
                                        "--device", "cpu"], in: root)
        XCTAssertEqual(pretrain.status, 0, pretrain.stderr)
        // D has a val part, so the monitor ran, before the first update and after the epoch.
        XCTAssertTrue(pretrain.stdout.contains("kNN monitor: untrained "), pretrain.stdout)
        XCTAssertTrue(pretrain.stdout.contains("points); compare encoders with `aimclr linear --standardize-features`"), pretrain.stdout)
        try FileManager.default.createDirectory(atPath: f.k20, withIntermediateDirectories: true)
        for (part, n) in [("train", 8), ("val", 4)] {
            let w = try NpyWriter(path: f.k20 + "/\(part)_position.npy", dtype: .float32, shape: [n, 3, 50, 20, 2])
            try w.append(floats: (0..<(n * 3 * 50 * 20 * 2)).map { Float($0 % 97) / 97 })
            try w.finish()
            try LabelFile(names: (0..<n).map { "s\($0)" }, labels: (0..<n).map { $0 % 3 }).write(to: f.k20 + "/\(part)_label.pkl")
        }
        try FileManager.default.createDirectory(atPath: f.npyDir + "/train_position.npy", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/LAYOUT.json", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.d + "/train_label.pkl", toPath: f.npyDir + "/train_label.pkl")
        try FileManager.default.copyItem(atPath: f.d + "/val_position.npy", toPath: f.npyDir + "/val_position.npy")
        try FileManager.default.copyItem(atPath: f.d + "/val_label.pkl", toPath: f.npyDir + "/val_label.pkl")
        FileManager.default.createFile(atPath: f.file, contents: Data("not a folder\n".utf8))
        try FileManager.default.createDirectory(atPath: f.nan, withIntermediateDirectories: true)
        for name in ["train_position.npy", "train_label.pkl", "val_label.pkl"] {
            try FileManager.default.copyItem(atPath: f.d + "/" + name, toPath: f.nan + "/" + name)
        }
        let val = try NpyArray.read(f.d + "/val_position.npy")
        var values = val.floats()
        values[val.rowCount + 17] = .nan
        try NpyArray(shape: val.shape, floats: values).write(to: f.nan + "/val_position.npy")
        Self.shared = f
        return f
    }

    /// Runs one bad invocation and checks the contract.
    func assertCleanFailure(_ args: [String], names expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try fixture()
        let before = Self.snapshot(f.root)
        let r = try Self.aimclr(args, in: f.root)
        let what = "aimclr \(args.joined(separator: " "))"
        XCTAssertTrue((1...2).contains(r.status), "\(what): exit \(r.status)\n\(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderrLines.count, 1, "\(what): stderr should be one line:\n\(r.stderr)", file: file, line: line)
        for word in expected {
            XCTAssertTrue(r.stderr.contains(word), "\(what): stderr does not name '\(word)':\n\(r.stderr)", file: file, line: line)
        }
        let all = (r.stdout + r.stderr).lowercased()
        for trace in ["fatal error", "stack dump", "backtrac", "program crashed"] {
            XCTAssertFalse(all.contains(trace), "\(what): \(trace) in the output:\n\(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(Self.snapshot(f.root), before, "\(what) wrote or changed files", file: file, line: line)
    }

    // MARK: A folder where a weights file is expected

    func testAFolderGivenAsWeightsIsNamed() throws {
        for args in [["linear", "--checkpoint", "RUN", "--data", "D", "--epochs", "1", "--device", "cpu", "--out", "OUT"],
                     ["knn", "--checkpoint", "RUN", "--data", "D", "--device", "cpu", "--out", "OUT"],
                     ["finetune", "--checkpoint", "RUN", "--data", "D", "--epochs", "1", "--device", "cpu", "--out", "OUT"],
                     ["embed", "--checkpoint", "RUN", "--data", "D/val_position.npy", "--out", "OUT/e.npy", "--device", "cpu"],
                     ["convert", "RUN", "OUT.safetensors"]] {
            try assertCleanFailure(args, names: ["RUN", "is a directory"])
        }
    }

    func testAFolderGivenAsAnArrayIsNamed() throws {
        try assertCleanFailure(["linear", "--random-init", "--data", "NPYDIR", "--epochs", "1", "--device", "cpu", "--out", "OUT"],
                               names: ["NPYDIR/train_position.npy", "is a directory"])
        try assertCleanFailure(["pretrain", "--data", "NPYDIR", "--work-dir", "OUT", "--epochs", "1", "--device", "cpu"],
                               names: ["NPYDIR/train_position.npy", "is a directory"])
        // The other files a command line names: configuration, layout, label pickle, split and sample lists.
        try assertCleanFailure(["pretrain", "--config", "RUN", "--work-dir", "OUT"], names: ["RUN", "is a directory"])
        try assertCleanFailure(["linear", "--random-init", "--data", "D", "--layout", "LAYOUT.json", "--out", "OUT"],
                               names: ["LAYOUT.json", "is a directory"])
        try assertCleanFailure(["ensemble", "--logits", "RUN", "--weights", "1", "--labels", "D/val_label.pkl"],
                               names: ["RUN", "is a directory"])
        try assertCleanFailure(["prepare", "pku", "--skeletons", "RUN", "--labels", "RUN", "--split", "RUN", "--out", "OUT"],
                               names: ["RUN", "is a directory"])
    }

    // MARK: Data that does not fit the layout

    func testTwentyJointDataWithTheNTULayoutIsRefused() throws {
        for args in [["linear", "--random-init", "--data", "K20", "--epochs", "1", "--device", "cpu", "--out", "OUT"],
                     ["knn", "--random-init", "--data", "K20", "--device", "cpu", "--out", "OUT"],
                     ["finetune", "--random-init", "--data", "K20", "--epochs", "1", "--device", "cpu", "--out", "OUT"],
                     ["embed", "--weights", "RUN/epoch1_model.safetensors", "--data", "K20/val_position.npy", "--out", "OUT/e.npy",
                      "--device", "cpu"]] {
            try assertCleanFailure(args, names: ["K20/", "20 joints", "--layout"])
        }
        try assertCleanFailure(["pretrain", "--data", "K20", "--work-dir", "OUT", "--epochs", "1", "--batch-size", "4",
                                "--queue-size", "8", "--device", "cpu"], names: ["--data", "K20/train_position.npy", "--layout kinect-v1"])
        // The NTU layout named on the command line is refused the same way; an unknown one is named.
        try assertCleanFailure(["pretrain", "--data", "K20", "--layout", "ntu-rgb+d", "--work-dir", "OUT", "--epochs", "1",
                                "--batch-size", "4", "--queue-size", "8", "--device", "cpu"], names: ["K20/train_position.npy", "--layout ntu-rgb+d"])
        try assertCleanFailure(["pretrain", "--data", "K20", "--layout", "kinect-v2x", "--work-dir", "OUT", "--epochs", "1",
                                "--device", "cpu"], names: ["kinect-v2x", "kinect-v1"])
    }

    // MARK: Output locations checked before any work

    func testUnwritableOutputLocationsAreRefusedFirst() throws {
        try assertCleanFailure(["linear", "--random-init", "--data", "D", "--epochs", "1", "--device", "cpu", "--out", "FILE/sub"],
                               names: ["--out", "FILE/sub"])
        try assertCleanFailure(["finetune", "--random-init", "--data", "D", "--epochs", "1", "--device", "cpu", "--out", "FILE/sub"],
                               names: ["--out", "FILE/sub"])
        try assertCleanFailure(["pretrain", "--data", "D", "--work-dir", "FILE/run", "--epochs", "1", "--device", "cpu"],
                               names: ["--work-dir", "FILE/run"])
        try assertCleanFailure(["embed", "--weights", "RUN/epoch1_model.safetensors", "--data", "D/val_position.npy", "--out", "RUN",
                                "--device", "cpu"], names: ["--out", "RUN", "folder"])
        try assertCleanFailure(["convert", "RUN/epoch1_model.safetensors", "FILE/x.safetensors"], names: ["FILE/x.safetensors"])
        if getuid() != 0 { // root writes into read-only folders, so this case only means something for other users
            let f = try fixture()
            let locked = f.root + "/LOCKED"
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
            chmod(locked, 0o555)
            defer { chmod(locked, 0o755) }
            try assertCleanFailure(["linear", "--random-init", "--data", "D", "--epochs", "1", "--device", "cpu", "--out", "LOCKED/out"],
                                   names: ["--out", "LOCKED/out"])
        }
    }

    // MARK: Flags

    func testBadNumbersNameTheFlag() throws {
        try assertCleanFailure(["knn", "--random-init", "--data", "D", "--k", "0", "--device", "cpu", "--out", "OUT"], names: ["--k"])
        try assertCleanFailure(["knn", "--random-init", "--data", "D", "--hidden-dim", "0", "--out", "OUT"], names: ["--hidden-dim", "0"])
        try assertCleanFailure(["prepare", "msr", "--skeletons", "D", "--out", "OUT", "--bodies", "3"], names: ["--bodies must be 1 or 2, got 3"])
        try assertCleanFailure(["linear", "--random-init", "--data", "D", "--standardize-features", "--recompute-features", "--out", "OUT"],
                               names: ["--standardize-features", "--recompute-features"])
        try assertCleanFailure(["linear", "--random-init", "--data", "D", "--epochs", "-1", "--out", "OUT"], names: ["--epochs", "-1"])
        try assertCleanFailure(["pretrain", "--data", "D", "--work-dir", "OUT", "--epochs", "-1"], names: ["--epochs", "-1"])
        try assertCleanFailure(["pretrain", "--data", "D", "--work-dir", "OUT", "--epochs", "1", "--batch-size", "64", "--device", "cpu"],
                               names: ["--batch-size", "64"])
        try assertCleanFailure(["embed", "--weights", "RUN/epoch1_model.safetensors", "--data", "D/val_position.npy", "--out", "OUT/e.npy",
                                "--batch-size", "0"], names: ["--batch-size"])
        try assertCleanFailure(["linear", "--random-init", "--data", "D", "--num-class", "1", "--epochs", "1", "--device", "cpu",
                                "--out", "OUT"], names: ["--num-class 1", "D train"])
    }

    func testKLargerThanTheBankAndAnotherStreamWarn() throws {
        let f = try fixture()
        let out = ScratchPaths.make("aimclr-knn").path
        let r = try Self.aimclr(["knn", "--checkpoint", "RUN/epoch1_model.safetensors", "--stream", "bone", "--data", "D",
                                 "--device", "cpu", "--out", out], in: f.root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: --k 200 exceeds the 8 samples of the memory bank"), r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: RUN/epoch1_model.safetensors was trained on the joint stream but is evaluated on the bone stream"),
                      r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/knn_result.json"))
    }

    // MARK: Inconsistencies between verbs

    func testEvaluationInputIsScannedForNaN() throws {
        try assertCleanFailure(["linear", "--random-init", "--data", "NAN", "--epochs", "1", "--device", "cpu", "--out", "OUT"],
                               names: ["NAN/val_position.npy", "(index 1)", "NaN"])
        try assertCleanFailure(["embed", "--weights", "RUN/epoch1_model.safetensors", "--data", "NAN/val_position.npy",
                                "--out", "OUT/e.npy", "--device", "cpu"], names: ["NAN/val_position.npy", "index 1", "NaN"])
    }

    func testGPUIsNeverAnOpenCLCPUDriver() throws {
        let f = try fixture()
        let devices = try Self.aimclr(["devices"], in: f.root)
        if devices.stdout.contains("kind opencl-gpu") { throw XCTSkip("this machine has an OpenCL GPU; --device gpu would use it") }
        try assertCleanFailure(["linear", "--random-init", "--data", "D", "--epochs", "1", "--device", "gpu", "--out", "OUT"],
                               names: ["no OpenCL GPU found", "--device cpu"])
    }

    func testPrepareWithoutInputCreatesNothing() throws {
        try assertCleanFailure(["prepare", "ntu", "--skeletons", "ABSENT", "--benchmark", "xsub", "--out", "OUT"], names: ["ABSENT"])
        for dataset in ["msr", "utkinect", "nwucla"] {
            try assertCleanFailure(["prepare", dataset, "--skeletons", "ABSENT", "--out", "OUT"], names: ["ABSENT", "no such file or folder"])
            try assertCleanFailure(["prepare", dataset, "--skeletons", "D", "--out", "OUT"], names: ["D: no ", "here or in a subfolder"])
            try assertCleanFailure(["prepare", dataset, "--skeletons", "FILE", "--out", "OUT"], names: ["FILE", ".tar.xz"])
            // A layout outside the two is a usage error of the parser, which lists the values.
            let r = try Self.aimclr(["prepare", dataset, "--skeletons", "D", "--layout", "openpose", "--out", "OUT"], in: try fixture().root)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("'openpose'") && r.stderr.contains("kinect-v1") && r.stderr.contains("ntu-rgb+d"), r.stderr)
        }
    }

    func testInspectReadsPyTorchCheckpoints() throws {
        let pt = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tiny_state_dict.pt").path
        let r = try Self.aimclr(["inspect", pt], in: try fixture().root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("tiny_state_dict.pt: PyTorch checkpoint, 6 tensors"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  encoder_q.edge_importance.0  F32  [2, 4]"), r.stdout)
    }

    // MARK: Work folders

    func testAnotherRunsWorkFolderIsRefusedAndResumeKeepsItsConfiguration() throws {
        try assertCleanFailure(["pretrain", "--data", "D", "--work-dir", "RUN", "--epochs", "1", "--device", "cpu"],
                               names: ["--work-dir", "RUN", "epoch1_model.safetensors", "--resume", "--overwrite"])
        try assertCleanFailure(["pretrain", "--work-dir", "RUN", "--resume", "--batch-size", "8", "--topk", "2", "--device", "cpu"],
                               names: ["--resume", "--batch-size: 4 in the checkpoint, 8 given", "--topk: 1 in the checkpoint, 2 given"])
        try assertCleanFailure(["pretrain", "--work-dir", "RUN", "--resume", "--overwrite"], names: ["--resume", "--overwrite"])

        // A copy of the run resumed with only --epochs: the stored configuration is used, and the
        // log gains a second header with the same configuration but for the epochs.
        let f = try fixture()
        let copy = ScratchPaths.make("aimclr-resume").path
        try FileManager.default.copyItem(atPath: f.run, toPath: copy)
        let r = try Self.aimclr(["pretrain", "--work-dir", copy, "--resume", "--epochs", "2", "--device", "cpu"], in: f.root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("1 iterations/epoch x 2 epochs, batch 4, queue 8"), r.stdout)
        let headers = try String(contentsOfFile: copy + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["type"] as? String == "header" }
        XCTAssertEqual(headers.count, 2)
        let configs = headers.compactMap { $0["config"] as? [String: Any] }
        XCTAssertEqual(configs.map { $0["numEpoch"] as? Int }, [1, 2])
        XCTAssertEqual(configs.map { $0["hiddenChannels"] as? Int }, [4, 4])
        XCTAssertEqual(headers.last?["resumedFrom"] as? String, "epoch 1")
        XCTAssertEqual(headers.first?["version"] as? String, AimCLRVersion.current)
        XCTAssertTrue(FileManager.default.fileExists(atPath: copy + "/epoch2_model.safetensors"))

        // --overwrite clears the old checkpoints, logs and TensorBoard events before the new run writes its own.
        let o = try Self.aimclr(["pretrain", "--data", "D", "--work-dir", copy, "--overwrite", "--epochs", "1", "--batch-size", "4",
                                 "--queue-size", "8", "--hidden-channels", "4", "--max-iterations", "1", "--device", "cpu"], in: f.root)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: copy).sorted(),
                       ["config.yaml", "epoch1_model.safetensors", "latest.safetensors", "log.jsonl", "log.txt", "tensorboard"])
        let lines = try String(contentsOfFile: copy + "/log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"type\":\"header\"") }.count, 1)
        XCTAssertEqual(try String(contentsOfFile: copy + "/log.txt", encoding: .utf8).components(separatedBy: " command: ").count, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: copy + "/tensorboard").count, 1)
    }

    // MARK: aimclr train

    func testTrainBadFlagsNameTheFlag() throws {
        let base = ["train", "--data", "D", "--work-dir", "TRAIN", "--device", "cpu"]
        for (flag, value) in [("--epochs", "0"), ("--lr", "0"), ("--dropout", "1"), ("--eval-interval", "0"), ("--hidden-channels", "0"),
                              ("--hidden-dim", "0"), ("--batch-size", "0"), ("--lr-steps", "0"), ("--weight-decay", "-1"),
                              ("--momentum", "1"), ("--num-class", "0"), ("--test-part", "train"), ("--save-interval", "0")] {
            try assertCleanFailure(base + [flag, value], names: [flag])
        }
        try assertCleanFailure(base + ["--num-class", "2"], names: ["--num-class", "D train", "8 classes"])
        try assertCleanFailure(["train", "--work-dir", "TRAIN"], names: ["--data"])
        try assertCleanFailure(["train", "--data", "K20", "--work-dir", "TRAIN", "--device", "cpu"], names: ["20 joints", "--layout"])
        try assertCleanFailure(["train", "--data", "D", "--work-dir", "FILE"], names: ["--work-dir", "FILE"])
        try assertCleanFailure(["train", "--data", "D", "--work-dir", "RUN"], names: ["--work-dir", "RUN", "--resume", "--overwrite"])
        try assertCleanFailure(["train", "--work-dir", "RUN", "--resume", "--device", "cpu"],
                               names: ["--resume", "RUN", "aimclr train", "not a supervised-training checkpoint", "--overwrite"])
        try assertCleanFailure(["train", "--data", "D", "--work-dir", "TRAIN", "--resume", "--overwrite"], names: ["--resume", "--overwrite"])
    }

    /// A trained encoder is evaluated with the same verbs as a pretrained one; a resume of the
    /// finished run changes nothing but --epochs.
    func testTrainedCheckpointsFeedTheEvaluationVerbs() throws {
        let f = try fixture()
        let work = ScratchPaths.make("aimclr-train-cli").path
        let out = ScratchPaths.make("aimclr-train-knn").path
        defer { try? FileManager.default.removeItem(atPath: work); try? FileManager.default.removeItem(atPath: out) }
        let r = try Self.aimclr(["train", "--data", "D", "--work-dir", work, "--epochs", "2", "--batch-size", "4", "--hidden-channels", "4",
                                 "--hidden-dim", "16", "--eval-interval", "1", "--device", "cpu"], in: f.root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("2 iterations/epoch x 2 epochs"), r.stdout)
        let names = try FileManager.default.contentsOfDirectory(atPath: work)
        for name in ["epoch1_model.safetensors", "epoch2_model.safetensors", "latest.safetensors", "log.txt", "log.jsonl", "config.json",
                     "tensorboard", "train_result.json", "train_best_logits.npy", "train_last_model.safetensors", "train_best_model.safetensors"] {
            XCTAssertTrue(names.contains(name), "\(name) missing from \(names.sorted())")
        }
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/train_result.json"))) as? [String: Any]
        XCTAssertEqual(result?["protocol"] as? String, "train")
        XCTAssertEqual((result?["history"] as? [Any])?.count, 2)
        XCTAssertEqual((result?["hyper_parameters"] as? [String: String])?["nesterov"], "true")
        for (verb, extra) in [("knn", ["--k", "3"]), ("linear", ["--epochs", "1"])] {
            let e = try Self.aimclr([verb, "--checkpoint", work + "/epoch1_model.safetensors", "--data", "D", "--out", out, "--device", "cpu"] + extra,
                                    in: f.root)
            XCTAssertEqual(e.status, 0, e.stderr)
            XCTAssertTrue(e.stdout.contains("(classifier; hidden 4, dim 16)"), e.stdout)
        }
        let again = try Self.aimclr(["train", "--work-dir", work, "--resume", "--epochs", "2", "--device", "cpu"], in: f.root)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("resumed from epoch 2"), again.stdout)
        try assertCleanFailure(["train", "--work-dir", work, "--resume", "--lr", "0.5", "--seed", "3"],
                               names: ["--resume", "--lr: 0.1 in the checkpoint, 0.5 given", "--seed: 0 in the checkpoint, 3 given", "--epochs"])
    }

    /// Ctrl-C during training: a checkpoint, exit 130, and --resume finishes the run from it.
    func testTrainSIGINTCheckpointsAndResumes() throws {
        let f = try fixture()
        let work = ScratchPaths.make("aimclr-train-signal").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (status, stderr) = try interrupting(["train", "--data", f.d, "--work-dir", work, "--epochs", "1000", "--batch-size", "2",
                                                 "--hidden-channels", "4", "--hidden-dim", "16", "--eval-interval", "1000",
                                                 "--no-tensorboard", "--device", "cpu"],
                                                once: work + "/log.jsonl", holds: "\"type\":\"epoch\"", by: SIGINT)
        XCTAssertEqual(status, 130, stderr)
        XCTAssertTrue(stderr.contains("continue with --resume"), stderr)
        let newest = try XCTUnwrap(CheckpointFiles.resumeCandidates(in: URL(fileURLWithPath: work)).first)
        let file = try SafeTensors.read(contentsOf: newest.url)
        XCTAssertEqual(file.metadata["format"], SupervisedCheckpoint.format)
        XCTAssertEqual(file.metadata["checksum_fnv1a64"], CheckpointFiles.checksum(file.entries))
        let r = try Self.aimclr(["train", "--work-dir", work, "--resume", "--epochs", "\(newest.epoch + 1)", "--device", "cpu"], in: f.root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/epoch\(newest.epoch + 1)_model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/train_result.json"))
    }

    // MARK: Signals

    /// Starts a long tiny pretraining and sends `signal` (`times` times, 20 ms apart) once its first
    /// iteration is logged.
    func interrupted(by signal: Int32, times: Int = 1) throws -> (status: Int32, stderr: String, work: String) {
        let f = try fixture()
        let work = ScratchPaths.make("aimclr-signal").path
        let (status, stderr) = try interrupting(["pretrain", "--data", f.d, "--work-dir", work, "--epochs", "100", "--batch-size", "2",
                                                 "--queue-size", "4", "--hidden-channels", "4", "--save-interval", "1000", "--device", "cpu"],
                                                once: work + "/log.jsonl", holds: "\"type\":\"iteration\"", by: signal, times: times)
        return (status, stderr, work)
    }

    /// Runs `aimclr args` and sends `signal` (`times` times, 20 ms apart) once the file `log`
    /// holds `marker`; returns the exit status and standard error.
    func interrupting(_ args: [String], once log: String, holds marker: String, by signal: Int32,
                      times: Int = 1) throws -> (status: Int32, stderr: String) {
        let f = try fixture()
        let p = Process()
        p.executableURL = try aimclrBinary()
        p.arguments = args
        let err = f.root + "/.stderr-signal-\(signal)"
        FileManager.default.createFile(atPath: err, contents: nil)
        defer { unlink(err) }
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, p.isRunning {
            if ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(marker) { break }
            usleep(20_000)
        }
        for i in 0..<times {
            if i > 0 { usleep(20_000) }
            kill(p.processIdentifier, signal)
        }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    func testSIGINTCheckpointsAndExits130() throws {
        let r = try interrupted(by: SIGINT)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.contains("interrupt: stopping after the current iteration"), r.stderr)
        XCTAssertTrue(r.stderr.contains("continue with --resume"), r.stderr)
        XCTAssertFalse(r.stderr.lowercased().contains("backtrac"), r.stderr)
        let saved = CheckpointFiles.resumeCandidates(in: URL(fileURLWithPath: r.work))
        XCTAssertEqual(saved.count, 1, "one checkpoint where the run stopped")
        if let url = saved.first?.url {
            let file = try SafeTensors.read(contentsOf: url)
            XCTAssertEqual(file.metadata["checksum_fnv1a64"], CheckpointFiles.checksum(file.entries))
            XCTAssertGreaterThanOrEqual(Int(file.metadata["iteration"] ?? "") ?? 0, 1)
        }
    }

    func testASecondSIGINTStopsAtOnce() throws {
        let r = try interrupted(by: SIGINT, times: 2)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.contains("interrupt again: stopping at once, without a checkpoint"), r.stderr)
        XCTAssertEqual(CheckpointFiles.resumeCandidates(in: URL(fileURLWithPath: r.work)).count, 0)
    }

    func testSIGTERMCheckpointsAndExits143() throws {
        let r = try interrupted(by: SIGTERM)
        XCTAssertEqual(r.status, 143, r.stderr)
        XCTAssertTrue(r.stderr.contains("SIGTERM: stopping after the current iteration"), r.stderr)
        XCTAssertEqual(CheckpointFiles.resumeCandidates(in: URL(fileURLWithPath: r.work)).count, 1)
    }
}
