import Foundation
import XCTest

/// `aimclr tune`, the tuning cache as `aimclr devices` reports it, and `--precision` refusals,
/// through the built executable (CLBlast's parameter overrides hold for a whole process, so the
/// tuning runs in its own).
final class TuneCommandTests: XCTestCase {
    typealias Result = CLIBadInputTests.Result

    /// The built binary with its own tuning cache (`none`: no cache).
    func aimclr(_ args: [String], cache: String? = nil) throws -> Result {
        try CLIBadInputTests.aimclr(args, in: NSTemporaryDirectory(), environment: ["AIMCLR_TUNING_CACHE": cache ?? "none"])
    }

    func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "aimclr-tune-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func requireOpenCL() throws {
        let r = try aimclr(["devices"])
        guard r.stdout.contains("opencl:0") else { throw XCTSkip("no OpenCL device (install pocl): tuning tests skipped") }
    }

    /// One candidate on batch-1 shapes: a cache with one Xgemm entry for opencl:0 whose parity
    /// held, which `aimclr devices` then reports as applying; a second run keeps other entries.
    func testQuickTuneWritesACacheThatDevicesApplies() throws {
        try requireOpenCL()
        let path = try folder() + "/cache.json"
        try #"{"version": 1, "entries": [{"device": "elsewhere", "driver": "9", "clblast": "1.5.3", "shapeClass": "indirect", "kernel": "Xgemm", "parameters": {}, "defaultSeconds": 1, "tunedSeconds": 1, "maxRelativeDifference": 0, "batch": 1, "shapes": [], "candidates": 0, "date": "x"}]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try aimclr(["tune", "--device", "opencl:0", "--quick", "--batch", "1", "--runs", "1", "--max-candidates", "1",
                            "--class", "indirect", "--out", path])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        XCTAssertTrue(r.stdout.contains("Tuning cache written to \(path)"), r.stdout)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let entries = try XCTUnwrap(json["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.count, 2, "the other device's entry stays")
        let ours = try XCTUnwrap(entries.first { ($0["device"] as? String) != "elsewhere" })
        XCTAssertEqual(ours["kernel"] as? String, "Xgemm")
        XCTAssertEqual(ours["candidates"] as? Int, 1)
        XCTAssertLessThanOrEqual(try XCTUnwrap(ours["maxRelativeDifference"] as? Double), 1e-4)
        XCTAssertGreaterThan(try XCTUnwrap(ours["defaultSeconds"] as? Double), 0)
        XCTAssertEqual((ours["shapes"] as? [String])?.count, 18, "three blocks x six GEMMs")

        let listed = try aimclr(["devices"], cache: path)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("GEMM tuning: cache \(path) applies (indirect:"), listed.stdout)
        XCTAssertTrue(listed.stdout.contains("precisions: fp32"), listed.stdout)
    }

    func testCorruptCacheIsAnErrorNamingTheFile() throws {
        try requireOpenCL()
        let path = try folder() + "/cache.json"
        try "{\"version\": 1, \"entries\": [".write(toFile: path, atomically: true, encoding: .utf8)
        let listed = try aimclr(["devices"], cache: path)
        XCTAssertTrue(listed.stdout.contains("cannot be opened"), listed.stdout)
        XCTAssertTrue(listed.stdout.contains("tuning cache \(path) is not a valid cache"), listed.stdout)
        let tuned = try aimclr(["tune", "--device", "opencl:0", "--quick", "--out", path])
        XCTAssertEqual(tuned.status, 1)
        XCTAssertTrue(tuned.stderr.contains(path), tuned.stderr)
        XCTAssertFalse(tuned.stderr.contains("Fatal error"), tuned.stderr)
    }

    func testPrecisionFlagIsCheckedAgainstTheDevice() throws {
        let bad = try aimclr(["bench", "step", "--device", "cpu", "--precision", "fp64"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--precision"), bad.stderr)
        let cpu = try aimclr(["bench", "step", "--device", "cpu", "--precision", "tf32", "--runs", "1", "--json", "/dev/null"])
        XCTAssertEqual(cpu.status, 1, cpu.stderr)
        XCTAssertTrue(cpu.stderr.contains("--precision tf32") && cpu.stderr.contains("cpu"), cpu.stderr)
        let r = try aimclr(["devices"])
        if r.stdout.contains("tf32 unavailable") {
            let cl = try aimclr(["bench", "step", "--device", "opencl:0", "--precision", "fp16-mixed", "--runs", "1",
                                "--json", "/dev/null"])
            XCTAssertEqual(cl.status, 1, cl.stderr)
            XCTAssertTrue(cl.stderr.contains("--precision fp16-mixed: unavailable on opencl:0"), cl.stderr)
        }
    }
}
