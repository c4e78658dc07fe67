import Compute
import CPUBackend
import Foundation
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// Numerical faults (NaN/Inf data, a diverging loss) and disk faults (full disk, read-only
/// folder) in pretraining: each stops with a clear error and the last checkpoint stays valid.
final class FaultInjectionTests: XCTestCase {
    func config(_ data: String, work: String, epochs: Int) -> PretrainConfig {
        var c = Tiny.config()
        c.dataPath = data + "/train_position.npy"
        c.labelPath = data + "/train_label.pkl"
        c.workDir = work
        c.numEpoch = epochs
        c.maxIterationsPerEpoch = 1
        return c
    }

    /// Rewrites sample `index` of the dataset with `value` at one coordinate (or everywhere).
    func poison(_ data: String, sample index: Int, value: Float, everywhere: Bool = false) throws {
        let a = try NpyArray.read(data + "/train_position.npy")
        var v = a.floats()
        let per = a.rowCount
        if everywhere { for k in 0..<v.count { v[k] = value } } else { v[index * per + per / 2] = value }
        try NpyArray(shape: a.shape, floats: v).write(to: data + "/train_position.npy")
    }

    /// The checkpoint reads, its checksum holds, and it says `epoch`.
    func assertIntact(_ path: String, epoch: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try SafeTensors.read(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(f.metadata["checksum_fnv1a64"], CheckpointFiles.checksum(f.entries), file: file, line: line)
        XCTAssertEqual(f.metadata["epoch"], String(epoch), file: file, line: line)
    }

    // MARK: numerical faults

    func testNaNSamplesAreNamedAtLoadAndCanBeSkipped() throws {
        let data = try Tiny.datasetFolder(samples: 12, seed: 31)
        try poison(data, sample: 5, value: .nan)
        let c = config(data, work: data + "/run", epochs: 1)
        XCTAssertThrowsError(try Pretrainer(config: c, device: CPUDevice(), warn: { _ in })) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("s5 (index 5)") && s.contains("train_position.npy") && s.contains("--skip-bad-samples"), s)
            XCTAssertEqual((error as? DataScan.NonFiniteSamples)?.samples.map(\.index), [5])
        }
        try poison(data, sample: 9, value: -.infinity)
        var warnings: [String] = []
        let t = try Pretrainer(config: c, device: CPUDevice(), skipBadSamples: true, warn: { warnings.append($0) })
        XCTAssertEqual(t.loader.sampleCount, 10)
        XCTAssertEqual(warnings.filter { $0.contains("skipping sample") }.count, 2, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("s9 (index 9)") }, "\(warnings)")
        // The kept labels follow their samples (labels are index % 3; 5 and 9 are gone).
        XCTAssertEqual(t.loader.labels, [0, 1, 2, 3, 4, 6, 7, 8, 10, 11].map { $0 % 3 })
        let summary = try t.run(resume: false)
        XCTAssertEqual(summary.iterations, 1)
        XCTAssertTrue(summary.lastEpochLoss?.total.isFinite ?? false)
    }

    func testNonFiniteLossStopsNamingTheStepAndKeepsTheLastCheckpoint() throws {
        let data = try Tiny.datasetFolder(samples: 12, seed: 32)
        let work = data + "/run"
        let good = try Pretrainer(config: config(data, work: work, epochs: 2), device: CPUDevice(), warn: { _ in })
        try good.run(resume: false)
        let last = work + "/epoch2_model.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: last))

        // Finite but enormous coordinates pass the scan, then overflow inside the network.
        try poison(data, sample: 0, value: 3e38, everywhere: true)
        let bad = try Pretrainer(config: config(data, work: work, epochs: 4), device: CPUDevice(), warn: { _ in })
        XCTAssertThrowsError(try bad.run(resume: true)) { error in
            guard let e = error as? LossGuard.NonFiniteLoss else { return XCTFail("\(error)") }
            XCTAssertEqual(e.epoch, 3)
            XCTAssertEqual(e.iteration, 2, "the third step (0-based iteration 2) is named")
            XCTAssertTrue("\(e)".contains("epoch 3") && "\(e)".contains("last checkpoint is kept"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/epoch3_model.safetensors"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: last)), before, "the last good checkpoint changed")
        try assertIntact(last, epoch: 2)
    }

    // MARK: disk faults

    /// `/dev/full` answers every write with ENOSPC: a checkpoint whose temporary file is redirected
    /// there fails like a write to a full disk, and the previous checkpoint stays valid.
    func testCheckpointOnAFullDiskFailsClearlyAndKeepsThePreviousOne() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full on this system") }
        let data = try Tiny.datasetFolder(samples: 12, seed: 33)
        let work = data + "/run"
        try Pretrainer(config: config(data, work: work, epochs: 1), device: CPUDevice(), warn: { _ in }).run(resume: false)
        let temp = work + "/.epoch2_model.safetensors.tmp-\(getpid())"
        try FileManager.default.createSymbolicLink(atPath: temp, withDestinationPath: "/dev/full")
        defer { unlink(temp) }
        let t = try Pretrainer(config: config(data, work: work, epochs: 2), device: CPUDevice(), warn: { _ in })
        XCTAssertThrowsError(try t.run(resume: true)) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("epoch2_model.safetensors") && s.contains("No space left on device"), s)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/epoch2_model.safetensors"))
        try assertIntact(work + "/epoch1_model.safetensors", epoch: 1)
    }

    func testLogOnAFullDiskFailsClearly() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full on this system") }
        let data = try Tiny.datasetFolder(samples: 12, seed: 34)
        let work = data + "/run"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: work + "/log.jsonl", withDestinationPath: "/dev/full")
        let t = try Pretrainer(config: config(data, work: work, epochs: 1), device: CPUDevice(), warn: { _ in })
        XCTAssertThrowsError(try t.run(resume: false)) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("log.jsonl") && s.contains("cannot append"), s)
        }
    }

    /// A small tmpfs: filled up (ENOSPC), then remounted read-only (EROFS). Needs mount rights
    /// (root in a privileged container); skipped otherwise.
    func testFullAndReadOnlyFileSystem() throws {
        let data = try Tiny.datasetFolder(samples: 12, seed: 35)
        let mnt = data + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        func sh(_ command: String) -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command + " 2>/dev/null"]
            guard (try? p.run()) != nil else { return -1 }
            p.waitUntilExit()
            return p.terminationStatus
        }
        guard getuid() == 0, sh("mount -t tmpfs -o size=2m tmpfs '\(mnt)'") == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root and mount rights); the /dev/full tests cover ENOSPC")
        }
        defer { _ = sh("umount '\(mnt)'") }
        let work = mnt + "/run"
        try Pretrainer(config: config(data, work: work, epochs: 1), device: CPUDevice(), warn: { _ in }).run(resume: false)
        try assertIntact(work + "/epoch1_model.safetensors", epoch: 1)

        // Fill the file system, leaving a few bytes.
        _ = sh("dd if=/dev/zero of='\(mnt)/filler' bs=4096")
        let full = try Pretrainer(config: config(data, work: work, epochs: 2), device: CPUDevice(), warn: { _ in })
        XCTAssertThrowsError(try full.run(resume: true)) { error in
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/epoch2_model.safetensors"))
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: work))?.filter { $0.contains(".tmp-") } ?? []
        XCTAssertEqual(leftovers, [], "a failed write must remove its temporary file")
        try assertIntact(work + "/epoch1_model.safetensors", epoch: 1)

        // Read-only.
        unlink(mnt + "/filler")
        XCTAssertEqual(sh("mount -o remount,ro '\(mnt)'"), 0)
        let readOnly = try Pretrainer(config: config(data, work: work, epochs: 2), device: CPUDevice(), warn: { _ in })
        XCTAssertThrowsError(try readOnly.run(resume: true)) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains(work), s)
        }
        try assertIntact(work + "/epoch1_model.safetensors", epoch: 1)
    }
}
