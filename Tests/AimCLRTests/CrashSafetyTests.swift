import Compute
import CPUBackend
import Foundation
import TestSupport
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// Crash safety of `aimclr pretrain`: SIGKILL at seeded random moments (some aimed inside a
/// checkpoint write), resume, and the final weights equal those of an uninterrupted run, bit for bit.
final class CrashSafetyTests: XCTestCase {
    func binary() throws -> URL { try aimclrBinary() }

    /// Starts `aimclr pretrain` with stdout/stderr in `logFile`.
    func start(_ exe: URL, _ arguments: [String], logFile: String, delayMS: Int = 0) throws -> Process {
        let p = Process()
        p.executableURL = exe
        p.arguments = ["pretrain"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["AIMCLR_CHECKPOINT_DELAY_MS"] = delayMS > 0 ? String(delayMS) : nil
        p.environment = env
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        h.seekToEndOfFile()
        p.standardOutput = h
        p.standardError = h
        try p.run()
        return p
    }

    func arguments(data: String, work: String, epochs: Int = 5) -> [String] {
        ["--data", data, "--work-dir", work, "--epochs", "\(epochs)", "--batch-size", "4", "--queue-size", "8",
         "--hidden-channels", "4", "--save-interval", "1", "--max-iterations", "1", "--mining-epoch", "3",
         "--seed", "3", "--device", "cpu"]
    }

    /// Epochs of the checkpoints under their final names; each must read cleanly with a valid checksum.
    func validCheckpoints(_ dir: String, file: StaticString = #filePath, line: UInt = #line) -> [Int] {
        CheckpointFiles.candidates(in: URL(fileURLWithPath: dir)).map { epoch, url in
            do {
                let f = try SafeTensors.read(contentsOf: url)
                XCTAssertEqual(f.metadata["checksum_fnv1a64"], CheckpointFiles.checksum(f.entries),
                               "\(url.lastPathComponent) is torn", file: file, line: line)
                XCTAssertEqual(f.metadata["epoch"], String(epoch), file: file, line: line)
            } catch {
                XCTFail("a partial or corrupt checkpoint sits under a final name: \(error)", file: file, line: line)
            }
            return epoch
        }
    }

    func assertSameWeights(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try SafeTensors.read(contentsOf: URL(fileURLWithPath: a))
        let y = try SafeTensors.read(contentsOf: URL(fileURLWithPath: b))
        XCTAssertEqual(x.entries.map(\.name), y.entries.map(\.name), file: file, line: line)
        XCTAssertGreaterThan(x.entries.count, 10, file: file, line: line)
        for (p, q) in zip(x.entries, y.entries) {
            XCTAssertEqual(p.tensor, q.tensor, "\(p.name) differs from the uninterrupted run", file: file, line: line)
        }
        XCTAssertEqual(x.metadata["iteration"], y.metadata["iteration"], file: file, line: line)
    }

    func testKilledAndResumedRunEqualsAnUninterruptedOne() throws {
        let exe = try binary()
        let data = try Tiny.datasetFolder(samples: 12, seed: 21)
        let started = Date()
        // Reference: one uninterrupted run.
        let straight = data + "/straight"
        let p0 = try start(exe, arguments(data: data, work: straight), logFile: data + "/straight.log")
        p0.waitUntilExit()
        XCTAssertEqual(p0.terminationStatus, 0, (try? String(contentsOfFile: data + "/straight.log", encoding: .utf8)) ?? "")
        let runSeconds = Date().timeIntervalSince(started)

        // Killed run: every restart resumes; kills land at random moments or inside a checkpoint write.
        let work = data + "/killed"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var rng = Mutator(seed: 2024)
        var newest = 0, kills = 0, midWrite = 0, restarts = 0
        while restarts < 40 {
            restarts += 1
            let p = try start(exe, arguments(data: data, work: work) + ["--resume"], logFile: data + "/killed.log", delayMS: 120)
            if restarts % 2 == 0 {
                // Aim at a write: wait for a temporary checkpoint file to appear.
                let deadline = Date().addingTimeInterval(runSeconds + 10)
                var hit = false
                while Date() < deadline, p.isRunning {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
                    if names.contains(where: { $0.hasPrefix(".epoch") && $0.contains(".tmp-\(p.processIdentifier)") }) { hit = true; break }
                    usleep(1000)
                }
                if hit { usleep(UInt32(rng.below(100_000))); midWrite += 1 }
            } else {
                usleep(UInt32(rng.below(Int(runSeconds * 600_000) + 100_000)))
            }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                kills += 1
            }
            p.waitUntilExit()
            let epochs = validCheckpoints(work)
            let latest = epochs.first ?? 0
            // Nothing already saved is ever lost: the newest checkpoint never goes backwards.
            XCTAssertGreaterThanOrEqual(latest, newest, "a kill lost a completed checkpoint")
            newest = latest
            if p.terminationReason == .exit {
                XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOfFile: data + "/killed.log", encoding: .utf8)) ?? "")
                break
            }
            // Enough faults (or the time budget of the test is used): let the last restart finish.
            if (kills >= 6 && newest >= 3) || Date().timeIntervalSince(started) > 60 { break }
        }
        // Whatever the kills left (on a fast machine most random kills land before a restart's
        // first checkpoint), one uninterrupted restart finishes the run.
        if newest < 5 {
            let last = try start(exe, arguments(data: data, work: work) + ["--resume"], logFile: data + "/killed.log")
            last.waitUntilExit()
            XCTAssertEqual(last.terminationStatus, 0, (try? String(contentsOfFile: data + "/killed.log", encoding: .utf8)) ?? "")
        }
        print("crash test: \(kills) SIGKILLs (\(midWrite) inside a checkpoint write) over \(restarts) starts, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        XCTAssertGreaterThanOrEqual(kills, 3)
        XCTAssertGreaterThanOrEqual(midWrite, 1, "no kill landed inside a checkpoint write")
        XCTAssertEqual(validCheckpoints(work).first, 5)
        let stale = ((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).filter { $0.contains(".tmp-") }
        XCTAssertEqual(stale, [], "temporary files of killed runs are removed by the next start")
        // Every line of the log is one JSON object, even after kills mid-write.
        let lines = try String(contentsOfFile: work + "/log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.count, 10)
        try assertSameWeights(straight + "/epoch5_model.safetensors", work + "/epoch5_model.safetensors")

        // A corrupt newest checkpoint is skipped with a warning; the run resumes from the one before
        // and reproduces the same final weights.
        let resumed = data + "/corrupt"
        try FileManager.default.createDirectory(atPath: resumed, withIntermediateDirectories: true)
        for e in [3, 4] {
            try FileManager.default.copyItem(atPath: straight + "/epoch\(e)_model.safetensors",
                                             toPath: resumed + "/epoch\(e)_model.safetensors")
        }
        let victim = resumed + "/epoch4_model.safetensors"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[bytes.count - 3] ^= 0x40 // one flipped bit in the last tensor
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let p2 = try start(exe, arguments(data: data, work: resumed) + ["--resume"], logFile: data + "/corrupt.log")
        p2.waitUntilExit()
        let log = (try? String(contentsOfFile: data + "/corrupt.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(p2.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("warning: skipping checkpoint epoch4_model.safetensors") && log.contains("checksum mismatch"), log)
        XCTAssertTrue(log.contains("resumed from epoch 3"), log)
        try assertSameWeights(straight + "/epoch5_model.safetensors", resumed + "/epoch5_model.safetensors")
    }
}

/// The built `aimclr` executable: $AIMCLR_BINARY, beside the test bundle, or `.build/debug/aimclr`.
func aimclrBinary() throws -> URL {
    var candidates: [URL] = []
    if let env = ProcessInfo.processInfo.environment["AIMCLR_BINARY"] { candidates.append(URL(fileURLWithPath: env)) }
    candidates.append(Bundle(for: CrashSafetyTests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("aimclr"))
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/aimclr"))
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("the aimclr executable is not built (swift build); looked in \(candidates.map(\.path))")
    }
    return found
}
