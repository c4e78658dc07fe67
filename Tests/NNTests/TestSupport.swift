import Compute
import CPUBackend
import Foundation
import XCTest
@testable import NN

/// Shared helpers for the NN tests.
enum TestSupport {
    /// The CPU backend with both cores (shapes here are small).
    static func cpu() -> Device { CPUDevice() }

    /// A (3, V, V) adjacency with the structure of the spatial partition: a diagonal part, a
    /// chain part and its reverse, each column-normalised like `normalize_digraph`. Values are
    /// irrelevant to shape tests; gradient tests only need something non-trivial.
    static func adjacency(joints v: Int) -> [Float] {
        var a = [Float](repeating: 0, count: 3 * v * v)
        for j in 0..<v {
            let deg = Float(1 + (j > 0 ? 1 : 0) + (j + 1 < v ? 1 : 0))
            a[0 * v * v + j * v + j] = 1 / deg
            if j > 0 { a[1 * v * v + (j - 1) * v + j] = 1 / deg }
            if j + 1 < v { a[2 * v * v + (j + 1) * v + j] = 1 / deg }
        }
        return a
    }

    /// Deterministic pseudo-random values in [lo, hi) from a Philox key.
    static func uniform(count: Int, lo: Float, hi: Float, seed: UInt64, stream: UInt32) -> [Float] {
        let key = RandomKey(seed: seed, stream: stream, step: 77)
        return (0..<count).map { lo + (hi - lo) * key.uniform($0) }
    }

    /// Replaces every parameter and BN running statistic with well-conditioned random values:
    /// weights of order 1/sqrt(fan-in), non-zero biases, BN weights near 1, edge importance in
    /// [0.5, 1.5], running variance in [0.5, 1.5] (spec §9: fresh initialisation gives
    /// vanishing outputs that test nothing).
    static func randomizeState(_ module: Module, seed: UInt64) {
        for (i, p) in module.parameters.enumerated() {
            let values: [Float]
            let fanIn = p.shape.count > 1 ? p.shape.dropFirst().reduce(1, *) : 1
            if p.name.hasPrefix("edge_importance") {
                values = uniform(count: p.count, lo: 0.5, hi: 1.5, seed: seed, stream: UInt32(i))
            } else if p.shape.count == 1 && p.name.hasSuffix("weight") {
                values = uniform(count: p.count, lo: 0.7, hi: 1.3, seed: seed, stream: UInt32(i))
            } else if p.shape.count == 1 {
                values = uniform(count: p.count, lo: -0.3, hi: 0.3, seed: seed, stream: UInt32(i))
            } else {
                let s = 1.5 / Float(fanIn).squareRoot()
                values = uniform(count: p.count, lo: -s, hi: s, seed: seed, stream: UInt32(i))
            }
            values.withUnsafeBufferPointer { p.device.upload($0, to: p.value) }
        }
        for (i, b) in module.buffers.enumerated() {
            let isVar = b.name.hasSuffix("running_var")
            let values = uniform(count: b.value.count, lo: isVar ? 0.5 : -0.2, hi: isVar ? 1.5 : 0.2,
                                 seed: seed, stream: 1000 + UInt32(i))
            values.withUnsafeBufferPointer { b.value.device.upload($0, to: b.value) }
        }
    }

    /// The fixture folder (AIMCLR_SHARED_DATA or <repo>/../shared/data).
    static var sharedData: URL {
        if let env = ProcessInfo.processInfo.environment["AIMCLR_SHARED_DATA"] { return URL(fileURLWithPath: env) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    /// A fresh temporary folder.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// |a − b| ≤ abs + rel·|b| elementwise (the llm.c tolerance rule).
func assertClose(_ a: [Float], _ b: [Float], abs: Float, rel: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var worst: (Int, Float) = (-1, 0)
    for i in 0..<min(a.count, b.count) {
        let err = Swift.abs(a[i] - b[i]) - (abs + rel * Swift.abs(b[i]))
        if err > worst.1 { worst = (i, err) }
    }
    if worst.0 >= 0 {
        XCTFail("\(what): element \(worst.0) differs: \(a[worst.0]) vs \(b[worst.0])", file: file, line: line)
    }
}
