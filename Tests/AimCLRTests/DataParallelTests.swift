import Foundation
import XCTest
@testable import AimCLR
import NN

/// `mpirun -np 2 aimclr pretrain`: two ranks with 64 samples each train what one process trains
/// with 128 (3 AimCLR steps, the last one NNM), a killed rank ends the job, the run resumes on
/// another rank count, and ranks given different flags are refused. Skipped without Open MPI.
final class DataParallelTests: XCTestCase {
    static let mpirun = "/usr/bin/mpirun"

    func requireMPI() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.mpirun) else {
            throw XCTSkip("Open MPI's mpirun is not installed (make deps installs openmpi-bin)")
        }
    }

    /// mpirun's own flags: oversubscription (more ranks than cores) and, in root containers, root.
    var mpirunFlags: [String] { ["--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) }

    func arguments(data: String, work: String, epochs: Int = 3) -> [String] {
        ["pretrain", "--data", data, "--work-dir", work, "--epochs", "\(epochs)", "--batch-size", "128",
         "--queue-size", "256", "--hidden-channels", "4", "--hidden-dim", "16", "--feature-dim", "8",
         "--max-iterations", "1", "--mining-epoch", "2", "--seed", "9", "--device", "cpu",
         "--no-monitor", "--no-tensorboard", "--save-interval", "1"]
    }

    /// Starts `executable arguments` with stdout and stderr in `log`.
    func start(_ executable: String, _ arguments: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = h
        p.standardError = h
        try p.run()
        return p
    }

    /// Runs to the end (at most `timeout` seconds) and returns the exit status and the output.
    @discardableResult
    func run(_ executable: String, _ arguments: [String], log: String, timeout: Double = 120) throws -> (Int32, String) {
        let p = try start(executable, arguments, log: log)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    func checkpoint(_ work: String, epoch: Int) throws -> [String: HostTensor] {
        let f = try SafeTensors.read(contentsOf: URL(fileURLWithPath: work + "/epoch\(epoch)_model.safetensors"))
        return Dictionary(uniqueKeysWithValues: f.entries.map { ($0.name, $0.tensor) })
    }

    func iterationLosses(_ work: String) throws -> [Double] {
        try String(contentsOfFile: work + "/log.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["type"] as? String == "iteration" else { return nil }
            return o["loss"] as? Double
        }
    }

    /// Largest |a − b| of two float tensors and the largest |a|.
    func deviation(_ a: HostTensor, _ b: HostTensor) -> (diff: Double, scale: Double) {
        let x = a.floats, y = b.floats
        var d = 0.0, s = 0.0
        for i in x.indices { d = max(d, Double(abs(x[i] - y[i]))); s = max(s, Double(abs(x[i]))) }
        return (d, s)
    }

    /// 2 ranks × 64 against 1 rank × 128 after 3 full steps (epoch 3 is NNM): losses, every
    /// parameter, momentum buffer, BN running statistic and the queue agree within float
    /// tolerances, and every integer (queue pointer, iteration, batches tracked) exactly.
    ///
    /// Tolerances, relative to each tensor's largest magnitude (floored at 1e-2; for a running
    /// mean, at least the square root of its running variance): 5e-3 for parameters, running
    /// statistics and the queue, 1e-2 for the momentum buffers (the summed gradients); 1e-6
    /// relative for the losses; at the reference lr 0.1. Measured worst: 3.6e-3 (a block-0 graph
    /// conv weight), 6.5e-3 (momentum buffers), losses 1.9e-7.
    ///
    /// Why not float rounding alone (the in-process tests, `InProcessDataParallelTests`, hold
    /// 1e-4 and measure 5e-6): the split batch rounds the BN statistics differently (~1 ulp), a
    /// ReLU input within that of zero flips its mask, and one flipped term moves every per-channel
    /// gradient sum below it by ~1/√(terms) (here √(128·2·12·25) ≈ 280, so 4e-3) — at batch 128
    /// a step has ~3.5 M ReLU inputs, so a flip or two is expected. Single-process runs that
    /// differ only in thread count flip the same way when an input sits there.
    func testTwoRanksEqualOneRankAtTheSameGlobalBatch() throws {
        try requireMPI()
        let exe = try aimclrBinary().path
        let data = try Tiny.datasetFolder(samples: 256, seed: 31)
        let (s1, o1) = try run(exe, arguments(data: data, work: data + "/one"), log: data + "/one.log")
        XCTAssertEqual(s1, 0, o1)
        let (s2, o2) = try run(Self.mpirun, ["-np", "2"] + mpirunFlags + [exe] + arguments(data: data, work: data + "/two"),
                               log: data + "/two.log")
        XCTAssertEqual(s2, 0, o2)
        XCTAssertTrue(o2.contains("(2 ranks x 64)"), o2)

        let one = try checkpoint(data + "/one", epoch: 3), two = try checkpoint(data + "/two", epoch: 3)
        XCTAssertEqual(Set(one.keys), Set(two.keys))
        var floatTensors = 0, worst = (ratio: 0.0, name: ""), measured = (parameters: 0.0, momentum: 0.0)
        for (name, a) in one {
            guard let b = two[name] else { XCTFail("\(name) missing"); continue }
            guard case .float32 = a.storage else {
                XCTAssertEqual(a, b, "\(name) (integer state) differs")
                continue
            }
            floatTensors += 1
            var (diff, scale) = deviation(a, b)
            // A running mean is measured against its channel's spread: after a conv whose bias gets
            // no true gradient (BN removes it), the mean is that bias's rounding noise times lr.
            if name.hasSuffix("running_mean"), let v = one[name.replacingOccurrences(of: "running_mean", with: "running_var")] {
                scale = max(scale, Double(v.floats.max() ?? 0).squareRoot())
            }
            let tolerance = (name.hasSuffix("momentum_buffer") ? 1e-2 : 5e-3) * max(scale, 1e-2)
            XCTAssertLessThanOrEqual(diff, tolerance, "\(name): 2 ranks differ from 1 by \(diff) (scale \(scale))")
            if diff / tolerance > worst.ratio { worst = (diff / tolerance, name) }
            let relative = diff / max(scale, 1e-2)
            if name.hasSuffix("momentum_buffer") { measured.momentum = max(measured.momentum, relative) }
            else { measured.parameters = max(measured.parameters, relative) }
        }
        XCTAssertGreaterThan(floatTensors, 100)
        print("data parallel: worst tensor \(worst.name) at \(String(format: "%.2f", worst.ratio)) of its tolerance; "
            + String(format: "largest deviation %.2g (parameters, statistics, queue), %.2g (momentum buffers)",
                     measured.parameters, measured.momentum))
        for key in ["queue_ptr", "iteration"] where one[key] != nil { XCTAssertEqual(one[key], two[key], key) }

        let l1 = try iterationLosses(data + "/one"), l2 = try iterationLosses(data + "/two")
        XCTAssertEqual(l1.count, 3)
        XCTAssertEqual(l2.count, 3)
        for (a, b) in zip(l1, l2) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(a), "loss per step") }
        print("data parallel: losses " + zip(l1, l2).map { String(format: "%.3g", abs($0 - $1) / abs($0)) }.joined(separator: ", ")
            + " relative")
    }

    /// SIGKILL of one rank ends the whole job within 30 s with mpirun's message naming the rank
    /// and its host; the run then resumes from its last checkpoint on one rank.
    func testKilledRankEndsTheJobAndTheRunResumesOnAnotherRankCount() throws {
        try requireMPI()
        let exe = try aimclrBinary().path
        let data = try Tiny.datasetFolder(samples: 128, seed: 32)
        let work = data + "/work", log = data + "/killed.log"
        var args = arguments(data: data, work: work, epochs: 500)
        args[args.firstIndex(of: "--batch-size")! + 1] = "32"
        args[args.firstIndex(of: "--queue-size")! + 1] = "64"
        let job = try start(Self.mpirun, ["-np", "2"] + mpirunFlags + [exe] + args, log: log)
        // Wait for two checkpoints, then kill rank 1 (a child of mpirun: the one printing "rank 1").
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && job.isRunning
            && !FileManager.default.fileExists(atPath: work + "/epoch2_model.safetensors") { usleep(100_000) }
        XCTAssertTrue(job.isRunning, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let ranks = childProcesses(of: job.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "rank processes under mpirun: \(ranks)\n\(output)")
        guard let victim = ranks.last else { job.terminate(); return }
        let killed = Date()
        kill(victim, SIGKILL)
        while job.isRunning && Date().timeIntervalSince(killed) < 60 { usleep(50_000) }
        let seconds = Date().timeIntervalSince(killed)
        if job.isRunning { kill(job.processIdentifier, SIGKILL) }
        job.waitUntilExit()
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertLessThan(seconds, 30, "the job outlived a dead rank by \(seconds) s\n\(text)")
        XCTAssertNotEqual(job.terminationStatus, 0)
        XCTAssertTrue(text.contains("rank") && text.contains(ProcessInfo.processInfo.hostName), "no message naming the rank and host:\n\(text)")
        XCTAssertTrue(childProcesses(of: job.processIdentifier).isEmpty)

        // Resume on one rank (the batch of 32 divides over any count): it continues where the 2 ranks stopped.
        let newest = CheckpointFiles.candidates(in: URL(fileURLWithPath: work)).map(\.epoch).max() ?? 0
        XCTAssertGreaterThanOrEqual(newest, 2)
        var resume = args
        resume[resume.firstIndex(of: "--epochs")! + 1] = "\(newest + 1)"
        let (status, out) = try run(exe, resume + ["--resume"], log: data + "/resume.log")
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("resumed from epoch \(newest)"), out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/epoch\(newest + 1)_model.safetensors"))
    }

    /// Ranks started with different flags (here the seed) are refused before training.
    func testRanksWithDifferentFlagsAreRefusedAtStart() throws {
        try requireMPI()
        let exe = try aimclrBinary().path
        let data = try Tiny.datasetFolder(samples: 128, seed: 33)
        var other = arguments(data: data, work: data + "/w", epochs: 1)
        other[other.firstIndex(of: "--seed")! + 1] = "10"
        let (status, out) = try run(Self.mpirun, ["-np", "1"] + mpirunFlags + [exe] + arguments(data: data, work: data + "/w", epochs: 1)
                                    + [":", "-np", "1", exe] + other, log: data + "/mismatch.log")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(out.contains("data-parallel start refused: rank 1"), out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data + "/w/epoch1_model.safetensors"))
    }

    /// Direct children of `pid` (from /proc), for killing one rank by its process id.
    func childProcesses(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { p in
            guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }.sorted()
    }
}
