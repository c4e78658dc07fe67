import Compute
import CPUBackend
import Foundation
import OpenCLBackend
import TestSupport
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// Small AimCLR configurations and data for fast tests.
enum Tiny {
    static let frames = 12, joints = 25, persons = 2

    /// Reference structure at a fraction of the width: blocks 4, 4, 4, 4, 8, 8, 8, 16, 16, 16.
    static func config(batch: Int = 4, queue: Int = 16, seed: UInt64 = 7) -> PretrainConfig {
        var c = PretrainConfig()
        c.hiddenChannels = 4
        c.hiddenDim = 16
        c.featureDim = 8
        c.batchSize = batch
        c.queueSize = queue
        c.seed = seed
        c.numEpoch = 2
        c.saveInterval = 1
        return c
    }

    static var adjacency: [Float] { SpatialGraph(layout: .ntuRGBD).adjacency }

    static func model(_ c: PretrainConfig, device: Device) throws -> AimCLRModel {
        try AimCLRModel(config: c, device: device, adjacency: adjacency, joints: joints, frames: frames, persons: persons)
    }

    /// Smooth random motion: a few sinusoids per (channel, joint, person), so the views are skeleton-like.
    static func sequences(count: Int, seed: UInt64) -> [Float] {
        let key = RandomKey(seed: seed, stream: 11, step: 0)
        var out = [Float](repeating: 0, count: count * 3 * frames * joints * persons)
        var i = 0
        for n in 0..<count {
            for c in 0..<3 {
                for t in 0..<frames {
                    for v in 0..<joints {
                        for m in 0..<persons {
                            let base = ((n * 3 + c) * joints + v) * persons + m
                            let amp = key.uniform(4 * base), phase = key.uniform(4 * base + 1) * 6.28
                            let offset = key.uniform(4 * base + 2) - 0.5
                            out[i] = m == 1 && n % 2 == 0 ? 0 : offset + amp * sin(Float(t) * 0.5 + phase)
                            i += 1
                        }
                    }
                }
            }
        }
        return out
    }

    /// Three views of the same sequences, each with its own small perturbation.
    static func relatedViews(batch: Int, seed: UInt64, noise: Float = 0.05) -> PretrainViews {
        let base = sequences(count: batch, seed: seed)
        func perturbed(_ stream: UInt32) -> [Float] {
            let key = RandomKey(seed: seed, stream: stream, step: 1)
            return base.enumerated().map { $0.element + noise * key.gaussian($0.offset) }
        }
        return PretrainViews(extreme: perturbed(1), query: perturbed(2), key: perturbed(3))
    }

    static func views(batch: Int, seed: UInt64) -> PretrainViews {
        PretrainViews(extreme: sequences(count: batch, seed: seed),
                      query: sequences(count: batch, seed: seed + 1),
                      key: sequences(count: batch, seed: seed + 2))
    }

    /// Writes a small dataset folder (train_position.npy + train_label.pkl) and returns its path.
    static func datasetFolder(samples: Int, seed: UInt64) throws -> String {
        let dir = ScratchPaths.make("aimclr-test").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let w = try NpyWriter(path: dir + "/train_position.npy", dtype: .float32, shape: [samples, 3, frames, joints, persons])
        try w.append(floats: sequences(count: samples, seed: seed))
        try w.finish()
        try LabelFile(names: (0..<samples).map { "s\($0)" }, labels: (0..<samples).map { $0 % 3 }).write(to: dir + "/train_label.pkl")
        return dir
    }

    /// The pocl / GPU device for parity tests, or nil (a failure under CI=true).
    static func openCL(file: StaticString = #filePath, line: UInt = #line) throws -> Device? {
        let index = Int(ProcessInfo.processInfo.environment["AIMCLR_TEST_OPENCL"] ?? "0") ?? 0
        if OpenCLRuntime.devices().count > index { return try OpenCLDevice(index: index) }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("CI=true but no OpenCL device was found: the OpenCL path must run in CI", file: file, line: line)
            return nil
        }
        throw XCTSkip("no OpenCL device; install pocl-opencl-icd to run the OpenCL parity tests")
    }
}

/// |a - b| <= abs + rel * |b| elementwise.
func assertClose(_ a: [Float], _ b: [Float], abs: Float, rel: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    var worst: (Int, Float) = (-1, 0)
    for i in 0..<min(a.count, b.count) {
        let excess = Swift.abs(a[i] - b[i]) - (abs + rel * Swift.abs(b[i]))
        if excess > worst.1 || !a[i].isFinite { worst = (i, excess.isFinite ? excess : .infinity) }
    }
    if worst.0 >= 0 {
        XCTFail("\(what): element \(worst.0) differs: \(a[worst.0]) vs \(b[worst.0]) (abs \(abs), rel \(rel))", file: file, line: line)
    }
}
