import Foundation
import XCTest

/// The build tool that embeds Kernels/*.cl also generates `CLKernel`, one launcher per kernel typed by
/// its OpenCL signature (so a launch with a wrong argument count or kind fails the build). These run
/// the built tool on small kernel files.
final class KernelLauncherGenerationTests: XCTestCase {
    private func tool() throws -> URL {
        let bundle = Bundle(for: Self.self).bundleURL
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dirs = [bundle.deletingLastPathComponent(), bundle, root.appendingPathComponent(".build/debug")]
        for dir in dirs {
            for name in ["EmbedKernelsTool-tool", "EmbedKernelsTool"] {
                let url = dir.appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        throw XCTSkip("the EmbedKernelsTool executable was not found in \(dirs.map(\.path))")
    }

    /// Runs the tool on `files` (name → source); returns its exit status, output text and stderr.
    private func generate(_ files: [String: String]) throws -> (status: Int32, output: String, error: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kernelgen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (name, source) in files.sorted(by: { $0.key < $1.key }) {
            let path = dir.appendingPathComponent(name).path
            try source.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let output = dir.appendingPathComponent("Out.swift").path
        let p = Process()
        p.executableURL = try tool()
        p.arguments = [output] + paths
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return (p.terminationStatus, text, errText)
    }

    func testEveryParameterKindGetsItsArgumentType() throws {
        let source = """
        // a comment mentioning __kernel void not_a_kernel(double d)
        __kernel void scale_rows(__global const float* x, __global float* y, const int n, const float s,
                                 const uint seed, __local float* scratch, __global int* counts) {
            y[0] = x[0];
        }
        /* __kernel void also_not(double d) */
        __kernel void uses_keyword(__global const float* var, const int C) { }
        """
        let r = try generate(["a.cl": source])
        XCTAssertEqual(r.status, 0, r.error)
        XCTAssertTrue(r.output.contains("\"a.cl\": #\"\"\""), "the source is still embedded")
        XCTAssertTrue(r.output.contains(
            "static func scale_rows(_ `x`: KernelBufferArg, _ `y`: KernelBufferArg, _ `n`: KernelIntArg, "
                + "_ `s`: KernelFloatArg, _ `seed`: KernelUIntArg, _ `scratch`: KernelLocalArg, "
                + "_ `counts`: KernelBufferArg) -> KernelCall"), r.output)
        XCTAssertTrue(r.output.contains(
            "KernelCall(file: \"a.cl\", name: \"scale_rows\", args: [`x`.arg, `y`.arg, `n`.arg, `s`.arg, "
                + "`seed`.arg, `scratch`.arg, `counts`.arg])"), r.output)
        XCTAssertTrue(r.output.contains("static func uses_keyword(_ `var`: KernelBufferArg, _ `C`: KernelIntArg)"),
                      r.output)
        XCTAssertFalse(r.output.contains("not_a_kernel") && r.output.contains("func not_a_kernel"))
        XCTAssertFalse(r.output.contains("func also_not"))
    }

    func testAParameterTheLauncherCannotPassFailsTheBuild() throws {
        let r = try generate(["b.cl": "__kernel void k(__global float* y, const double d) { }"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.error.contains("b.cl: kernel k: parameter 'const double d'"), r.error)
    }

    func testKernelNamesMustBeUniqueAcrossFiles() throws {
        let r = try generate(["c.cl": "__kernel void same(const int n) { }",
                              "d.cl": "__kernel void same(const float f) { }"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.error.contains("kernel name same is defined in both c.cl and d.cl"), r.error)
    }
}
