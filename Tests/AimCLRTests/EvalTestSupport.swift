import Compute
import CPUBackend
import Foundation
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// Small encoders and datasets for the evaluation-protocol tests.
enum EvalTiny {
    /// Widths of the tiny encoder: blocks of 4 … 16 channels, 16-d representation.
    static var shape: EncoderShape {
        var s = EncoderShape()
        s.hiddenChannels = 4
        s.hiddenDim = 16
        return s
    }

    /// `count` sequences with label n % classes; class c adds c·0.8 to the x coordinate of the
    /// first person and a class-specific frequency, so the classes are learnable.
    static func set(count: Int, classes: Int = 3, seed: UInt64, name: String = "s") throws -> EvaluationSet {
        var x = Tiny.sequences(count: count, seed: seed)
        let t = Tiny.frames, v = Tiny.joints, m = Tiny.persons
        for n in 0..<count {
            let c = n % classes
            for tt in 0..<t {
                for j in 0..<v {
                    x[(((n * 3 + 0) * t + tt) * v + j) * m] += Float(c) * 0.8
                    x[(((n * 3 + 1) * t + tt) * v + j) * m] += 0.5 * sin(Float(tt) * Float(c + 1) * 0.7)
                }
            }
        }
        return try EvaluationSet(positions: NpyArray(shape: [count, 3, t, v, m], floats: x),
                                 labels: (0..<count).map { $0 % classes },
                                 names: (0..<count).map { "\(name)\($0)" }, source: "tiny \(name)")
    }

    /// A seeded random encoder whose BN running statistics were brought to the data by a few
    /// train-mode passes (with reference init and the default statistics, eval-mode features are
    /// nearly constant across samples).
    static func encoder(classes: Int = 3, device: Device, seed: UInt64 = 5, calibrateOn set: EvaluationSet? = nil) throws -> STGCN {
        let loaded = try EncoderLoader.load(.randomInit(seed: seed), layout: .ntuRGBD, numClass: classes, device: device,
                                            randomShape: shape, headSeed: seed)
        let e = loaded.encoder
        if let set {
            let n = min(set.count, 16)
            let ctx = try e.makeContext(samples: n, frames: set.frames, persons: set.persons, requiresGrad: false)
            var values = [Float](repeating: 0, count: n * set.positions.rowCount)
            values.withUnsafeMutableBufferPointer { set.positions.copyFloats(from: 0, count: $0.count, into: $0.baseAddress!) }
            values.withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
            // Start the running statistics from zero so that a dozen passes bring them to 72% of
            // the batch statistics (from the default 0 / 1 they would stay dominated by the 1).
            for b in e.buffers { device.fill(b.value, value: 0) }
            for i in 0..<12 { try e.forward(ctx.input, context: ctx, training: true, dropout: DropoutKeys(seed: 1, step: UInt32(i))) }
        }
        return e
    }
}
