import Foundation
import TestSupport
import XCTest
@testable import AimCLR

/// A kill between an atomic write's temporary file and its rename leaves `.NAME.tmp-PID` behind,
/// for checkpoints and for every other file a run writes whole (`config.yaml`, the `latest` link,
/// arrays, labels). The next start removes those of processes that no longer exist, and keeps its
/// own and those of running processes.
final class StaleTemporaryFilesTests: XCTestCase {
    func testTemporariesOfEndedProcessesAreRemovedOthersKept() throws {
        let dir = ScratchPaths.make("aimclr-stale")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A process that has ended: its PID names no process now.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = ended.processIdentifier
        XCTAssertNotEqual(kill(dead, 0), 0, "the ended process's PID was reused at once; rerun")

        let live = Process()
        live.executableURL = URL(fileURLWithPath: "/bin/sleep")
        live.arguments = ["30"]
        try live.run()
        defer { live.terminate(); live.waitUntilExit() }

        let stale = [".epoch3_model.safetensors.tmp-\(dead)", ".config.yaml.tmp-\(dead)",
                     ".latest.safetensors.tmp-\(dead)", ".train_position.npy.tmp-\(dead)-1234567"]
        let kept = [".config.yaml.tmp-\(getpid())", ".epoch4_model.safetensors.tmp-\(live.processIdentifier)",
                    "config.yaml", "epoch2_model.safetensors", ".hidden", ".notes.tmp-draft"]
        for name in stale + kept {
            XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data("x".utf8)))
        }
        CheckpointFiles.removeStaleTemporaries(in: dir)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(left, Set(kept))
    }
}
