import Foundation
import TestSupport
import XCTest
@testable import AimCLR

/// `--device auto` when OpenCL cannot start: the CLI falls back to the CPU backend and says so;
/// an explicit `--device opencl` fails with a clear message instead.
final class DeviceFallbackTests: XCTestCase {
    /// Runs `aimclr` with OpenCL's loader pointed at an empty vendor folder (no platform).
    func runWithoutOpenCL(_ args: [String]) throws -> (status: Int32, output: String) {
        let exe = try aimclrBinary()
        let dir = try scratchFolder("no-icd")
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OCL_ICD_VENDORS"] = dir.path // ocl-icd: look for *.icd files only here
        env["OPENCL_VENDOR_PATH"] = dir.path // Khronos loader
        p.environment = env
        let log = dir.appendingPathComponent("out.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    func testAutoFallsBackToTheCPUAndSaysSo() throws {
        let data = try Tiny.datasetFolder(samples: 8, seed: 41)
        let common = ["pretrain", "--data", data, "--work-dir", data + "/run", "--epochs", "1", "--batch-size", "4",
                      "--queue-size", "8", "--hidden-channels", "4", "--max-iterations", "1"]
        let auto = try runWithoutOpenCL(common + ["--device", "auto"])
        XCTAssertEqual(auto.status, 0, auto.output)
        XCTAssertTrue(auto.output.contains("no OpenCL platform found; running on the CPU backend"), auto.output)
        XCTAssertTrue(auto.output.contains("done: 1 iterations"), auto.output)

        let explicit = try runWithoutOpenCL(common + ["--device", "opencl"])
        XCTAssertNotEqual(explicit.status, 0)
        XCTAssertTrue(explicit.output.contains("no OpenCL platform found"), explicit.output)
    }
}
