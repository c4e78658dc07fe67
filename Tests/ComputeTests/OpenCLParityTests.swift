import CPUBackend
import Compute
import Foundation
@testable import OpenCLBackend
import XCTest

/// Every op of the Device protocol, forward and backward, run on CPUDevice and on the OpenCL
/// device with the same inputs. All tensors the op may touch (inputs included, for in-place
/// updates such as running statistics and SGD weights) are compared afterwards with
/// |cl − cpu| <= abs + rel·|cpu|. Random masks (dropout, NNM, EADM) must match exactly.
final class OpenCLParityTests: XCTestCase {
    nonisolated(unsafe) private static let cpu = CPUDevice()

    /// A tensor of the parity run: its shape and initial contents.
    private struct Spec {
        var shape: [Int]
        var values: [Float]
        init(_ shape: [Int], _ values: [Float]) { self.shape = shape; self.values = values }
        init(_ shape: [Int], fill: Float = 0) { self.init(shape, [Float](repeating: fill, count: shape.reduce(1, *))) }
        init(_ shape: [Int], _ rng: inout TestRandom, _ lo: Float = -1, _ hi: Float = 1) {
            self.init(shape, rng.values(shape.reduce(1, *), lo, hi))
        }
    }

    /// Runs `body` on both devices and compares every tensor; returns (cpu, opencl) contents.
    @discardableResult
    /// `ignoring`: tensors whose contents are backend-defined (saved state between a forward and its backward).
    private func parity(_ name: String, _ specs: [Spec], abs: Float, rel: Float, ignoring: Set<Int> = [],
                        file: StaticString = #filePath, line: UInt = #line,
                        _ body: (Device, [Tensor]) -> Void) throws -> (cpu: [[Float]], cl: [[Float]]) {
        let cl = try OpenCLTestDevice.get()
        let cpu = Self.cpu
        func run(_ dev: Device) throws -> [[Float]] {
            let ts = try specs.map { try dev.tensor($0.values, shape: $0.shape) }
            body(dev, ts)
            dev.synchronize()
            return ts.map { dev.read($0) }
        }
        let a = try run(cpu), b = try run(cl)
        for i in 0..<specs.count where !ignoring.contains(i) {
            expectClose(b[i], a[i], abs: abs, rel: rel, "\(name): tensor \(i) \(specs[i].shape)", file: file, line: line)
        }
        return (a, b)
    }

    // MARK: Convolutions

    func testTemporalConvolution() throws {
        var rng = TestRandom(101)
        // N·T·V = 10000 at batch 8 takes the two-pass bias-gradient reduction (chunks of 8192).
        for (s, cout, stride) in [(ActivationShape(channels: 16, batch: 8, frames: 50, joints: 25), 16, 1),
                                  (ActivationShape(channels: 16, batch: 4, frames: 50, joints: 25), 32, 2),
                                  (ActivationShape(channels: 256, batch: 2, frames: 13, joints: 25), 256, 1),
                                  // Ragged for the direct kernel: channel counts off its tiles of 8 in and 16
                                  // out, a last frame tile of 5 of 18 (stride 1), one tile (stride 2).
                                  (ActivationShape(channels: 11, batch: 3, frames: 23, joints: 7), 19, 1),
                                  (ActivationShape(channels: 11, batch: 3, frames: 23, joints: 7), 19, 2)] {
            // Streamed forwards of up to 64 input channels take the direct kernel.
            let cl = try OpenCLTestDevice.get()
            XCTAssertEqual(cl.usesDirectTemporalConv(TemporalGeometry(s, 9, stride, cout: cout)), s.channels <= 64)
            let kt = 9, tout = (s.frames - 1) / stride + 1, q = s.batch * tout * s.joints
            let specs = [Spec(s.dims, &rng), Spec([cout, s.channels, kt, 1], &rng, -0.1, 0.1), Spec([cout], &rng),
                         Spec([s.channels * kt, q]), Spec([cout, s.batch, tout, s.joints]),
                         Spec([cout, s.batch, tout, s.joints], &rng), Spec(s.dims, &rng),
                         Spec([cout, s.channels, kt, 1]), Spec([cout])]
            // Stored columns, and streamed ones (nil: the backward rebuilds the im2col).
            for (accumulate, stored) in [(false, true), (true, true), (false, false), (true, false)] {
                try parity("temporalConv \(s) -> \(cout) s\(stride) acc \(accumulate) stored \(stored)", specs,
                           abs: 2e-4, rel: 2e-4) { d, t in
                    let columns = stored ? t[3] : nil
                    d.temporalConvForward(x: t[0], input: s, kernel: kt, stride: stride, weight: t[1], bias: t[2],
                                          columns: columns, y: t[4])
                    d.temporalConvBackward(x: t[0], input: s, kernel: kt, stride: stride, weight: t[1], columns: columns,
                                           dy: t[5], dx: t[6], accumulate: accumulate, dWeight: t[7], dBias: t[8])
                }
            }
        }
    }

    func testConv1x1() throws {
        var rng = TestRandom(102)
        for (s, cout, stride) in [(ActivationShape(channels: 16, batch: 4, frames: 50, joints: 25), 32, 2),
                                  (ActivationShape(channels: 64, batch: 2, frames: 13, joints: 25), 256, 1)] {
            let tout = (s.frames - 1) / stride + 1
            let specs = [Spec(s.dims, &rng), Spec([cout, s.channels, 1, 1], &rng, -0.2, 0.2), Spec([cout], &rng),
                         Spec([cout, s.batch, tout, s.joints]), Spec([cout, s.batch, tout, s.joints], &rng),
                         Spec(s.dims, &rng), Spec([cout, s.channels, 1, 1]), Spec([cout])]
            for accumulate in [false, true] {
                try parity("conv1x1 \(s) -> \(cout) s\(stride) acc \(accumulate)", specs, abs: 1e-4, rel: 1e-4) { d, t in
                    d.conv1x1Forward(x: t[0], input: s, stride: stride, weight: t[1], bias: t[2], y: t[3])
                    d.conv1x1Backward(x: t[0], input: s, stride: stride, weight: t[1], dy: t[4], dx: t[5],
                                      accumulate: accumulate, dWeight: t[6], dBias: t[7])
                }
            }
        }
    }

    func testGraphConvolution() throws {
        var rng = TestRandom(103)
        // R = Cout·N·T rows: 3200 spans several reduction chunks, 624 ends in a partial tile.
        for (s, cout) in [(ActivationShape(channels: 16, batch: 4, frames: 50, joints: 25), 16),
                          (ActivationShape(channels: 64, batch: 3, frames: 13, joints: 25), 16),
                          (ActivationShape(channels: 16, batch: 2, frames: 25, joints: 25), 32)] {
            let k = 3, v = 25
            var adjacency = [Float](repeating: 0, count: k * v * v)
            for i in 0..<adjacency.count where (i * 7919) % 6 == 0 { adjacency[i] = Float(1 + i % 4) / 5 }
            let specs = [Spec(s.dims, &rng), Spec([k * cout, s.channels, 1, 1], &rng, -0.2, 0.2), Spec([k * cout], &rng),
                         Spec([k, v, v], adjacency), Spec([k, v, v], &rng, 0.5, 1.5),
                         Spec([k * cout, s.batch, s.frames, v]), Spec([cout, s.batch, s.frames, v]),
                         Spec([cout, s.batch, s.frames, v], &rng), Spec([k * cout, s.batch, s.frames, v]),
                         Spec(s.dims, &rng), Spec([k * cout, s.channels, 1, 1]), Spec([k * cout]), Spec([k, v, v])]
            let cl = try OpenCLTestDevice.get()
            defer { cl.importanceReductionKernels = true }
            for accumulate in [false, true] {
                // The second pass takes the GEMM fallback for the importance gradient.
                cl.importanceReductionKernels = !accumulate
                // z is each backend's own saved state (the CPU mixes first when a layer widens), and dz
                // scratch (the CPU builds it piece by piece in cache when the layer does not widen).
                try parity("graphConv \(s) -> \(cout) acc \(accumulate)", specs, abs: 2e-4, rel: 2e-4,
                           ignoring: s.channels < cout ? [5, 8] : [8]) { d, t in
                    d.graphConvForward(x: t[0], input: s, weight: t[1], bias: t[2], adjacency: t[3], importance: t[4],
                                       z: t[5], y: t[6])
                    d.graphConvBackward(x: t[0], input: s, weight: t[1], adjacency: t[3], importance: t[4], z: t[5],
                                        dy: t[7], dz: t[8], dx: t[9], accumulate: accumulate,
                                        dWeight: t[10], dBias: t[11], dImportance: t[12])
                }
            }
        }
    }

    /// The forward-only ops: batch-norm affine map, graph conv with its epilogue (both mixing
    /// orders on the CPU side), temporal conv with the residual epilogue (direct kernel and GEMM
    /// paths on the CPU side), and the epilogue pass alone.
    func testInferenceOps() throws {
        var rng = TestRandom(110)
        let k = 3, v = 25
        var adjacency = [Float](repeating: 0, count: k * v * v)
        for i in 0..<adjacency.count where (i * 7919) % 6 == 0 { adjacency[i] = Float(1 + i % 4) / 5 }
        for (s, cout, stride) in [(ActivationShape(channels: 16, batch: 3, frames: 13, joints: 25), 32, 1),
                                  (ActivationShape(channels: 32, batch: 2, frames: 13, joints: 25), 16, 1),
                                  (ActivationShape(channels: 16, batch: 2, frames: 25, joints: 25), 16, 2),
                                  // A temporal input wider than the direct kernel's: im2col, then the epilogue pass.
                                  (ActivationShape(channels: 8, batch: 1, frames: 13, joints: 25), 72, 1)] {
            let out = ActivationShape(channels: cout, batch: s.batch, frames: (s.frames - 1) / stride + 1, joints: v)
            let specs = [Spec(s.dims, &rng), Spec([k * cout, s.channels, 1, 1], &rng, -0.2, 0.2), Spec([k * cout], &rng),
                         Spec([k, v, v], adjacency), Spec([k, v, v], &rng, 0.5, 1.5),
                         Spec([cout], &rng, 0.5, 1.5), Spec([cout], &rng), Spec([cout], &rng), Spec([cout], &rng, 0.5, 2),
                         Spec([cout]), Spec([cout]), Spec([cout, s.batch, s.frames, v]),
                         Spec([cout, cout, 9, 1], &rng, -0.05, 0.05), Spec([cout], &rng), Spec(out.dims, &rng),
                         Spec([cout], &rng, -2, 2), Spec(out.dims), Spec(out.dims), Spec([cout, s.batch, s.frames, v])]
            try parity("inference ops \(s) -> \(cout) s\(stride)", specs, abs: 2e-4, rel: 2e-4) { d, t in
                d.batchNormInferenceAffine(gamma: t[5], beta: t[6], runningMean: t[7], runningVar: t[8], epsilon: 1e-5,
                                           scale: t[9], shift: t[10])
                d.graphConvInference(x: t[0], input: s, weight: t[1], bias: t[2], adjacency: t[3], importance: t[4],
                                     epilogue: ChannelEpilogue(scale: t[9], shift: t[10], relu: true), y: t[11])
                let mid = ActivationShape(channels: cout, batch: s.batch, frames: s.frames, joints: v)
                d.temporalConvInference(x: t[11], input: mid, kernel: 9, stride: stride, weight: t[12], bias: t[13],
                                        epilogue: ChannelEpilogue(scale: t[9], shift: t[10], residual: t[14],
                                                                  residualScale: t[15], relu: true), y: t[16])
                d.applyEpilogue(ChannelEpilogue(scale: t[15], shift: t[10], relu: false), x: t[14], channels: cout,
                                y: t[17])
                // Forward-only without an epilogue (the key encoder in training mode).
                d.graphConvInference(x: t[0], input: s, weight: t[1], bias: t[2], adjacency: t[3], importance: t[4],
                                     epilogue: nil, y: t[18])
            }
        }
    }

    // MARK: Normalisation and elementwise

    func testBatchNormTrainAndEval() throws {
        var rng = TestRandom(104)
        for (c, p) in [(16, 4 * 50 * 25), (75, 4 * 50), (256, 2 * 13 * 25)] {
            let specs = [Spec([c, p], &rng, 1, 3), Spec([c], &rng, 0.5, 1.5), Spec([c], &rng), Spec([c], &rng),
                         Spec([c], &rng, 0.5, 2), Spec([c]), Spec([c]), Spec([c, p]),
                         Spec([c, p], &rng), Spec([c, p]), Spec([c]), Spec([c])]
            for training in [true, false] { for relu in [false, true] {
                try parity("batchNorm C \(c) P \(p) training \(training) relu \(relu)", specs, abs: 5e-5, rel: 5e-4) { d, t in
                    d.batchNormForward(x: t[0], channels: c, training: training, momentum: 0.1, epsilon: 1e-5,
                                       gamma: t[1], beta: t[2], runningMean: t[3], runningVar: t[4],
                                       savedMean: t[5], savedInvStd: t[6], relu: relu, y: t[7])
                    d.batchNormBackward(x: t[0], channels: c, training: training, gamma: t[1], savedMean: t[5],
                                        savedInvStd: t[6], dy: t[8], dx: t[9], dGamma: t[10], dBeta: t[11])
                }
            } }
        }
    }

    func testElementwiseDropoutAndPermute() throws {
        var rng = TestRandom(105)
        let n = 16 * 4 * 50 * 25 + 1
        let specs = [Spec([n], &rng), Spec([n], &rng), Spec([n]), Spec([n]), Spec([n], &rng), Spec([n])]
        try parity("relu/add/addReLU/multiply/axpby", specs, abs: 0, rel: 0) { d, t in
            d.reluForward(x: t[0], y: t[2])
            d.reluBackward(y: t[2], dy: t[1], dx: t[3])
            d.addReLU(t[0], t[1], y: t[5])
            d.add(t[0], t[1], y: t[4])
            d.multiply(t[4], t[1], y: t[4])
            d.axpby(alpha: 0.5, x: t[0], beta: -2, y: t[4])
        }
        for p: Float in [0.5, 0.1, 0] {
            let key = RandomKey(seed: 12345, stream: 9, step: 3)
            let r = try parity("dropout p \(p)", specs, abs: 0, rel: 0) { d, t in
                d.dropoutForward(x: t[0], p: p, key: key, y: t[2])
                d.dropoutBackward(dy: t[1], p: p, key: key, dx: t[3])
                d.dropoutForward(x: t[4], p: p, key: key, y: t[4])
            }
            XCTAssertEqual(r.cl[2].map { $0 == 0 }, r.cpu[2].map { $0 == 0 }, "dropout mask p \(p)")
        }
        let shape = [4, 3, 50, 25, 2], perm = [0, 4, 3, 1, 2]
        try parity("permute", [Spec(shape, &rng), Spec(perm.map { shape[$0] })], abs: 0, rel: 0) { d, t in
            d.permute(x: t[0], shape: shape, perm: perm, y: t[1])
        }
    }

    // MARK: Heads

    func testPoolingLinearAndL2Normalize() throws {
        var rng = TestRandom(106)
        let c = 256, s = 2, m = 2, plane = 13 * 25
        try parity("pool", [Spec([c, s * m, plane], &rng), Spec([s, c]), Spec([s, c], &rng), Spec([c, s * m, plane])],
                   abs: 1e-6, rel: 1e-5) { d, t in
            d.poolForward(x: t[0], channels: c, samples: s, persons: m, plane: plane, y: t[1])
            d.poolBackward(dy: t[2], channels: c, samples: s, persons: m, plane: plane, dx: t[3])
        }
        let b = 8, inp = 256, out = 128
        let linear = [Spec([b, inp], &rng), Spec([out, inp], &rng, -0.1, 0.1), Spec([out], &rng), Spec([b, out]),
                      Spec([b, out], &rng), Spec([b, inp]), Spec([out, inp]), Spec([out])]
        try parity("linear", linear, abs: 1e-5, rel: 1e-5) { d, t in
            d.linearForward(x: t[0], weight: t[1], bias: t[2], y: t[3])
            d.linearBackward(x: t[0], weight: t[1], dy: t[4], dx: t[5], dWeight: t[6], dBias: t[7])
        }
        var xv = rng.values(b * out)
        for i in 0..<out { xv[i] = 0 }  // a zero row exercises the eps clamp
        try parity("l2Normalize", [Spec([b, out], xv), Spec([b, out]), Spec([b, out], &rng), Spec([b, out])],
                   abs: 1e-5, rel: 1e-4) { d, t in
            d.l2NormalizeForward(x: t[0], epsilon: 1e-12, y: t[1])
            d.l2NormalizeBackward(x: t[0], epsilon: 1e-12, dy: t[2], dx: t[3])
        }
    }

    // MARK: Losses and MoCo

    func testLosses() throws {
        var rng = TestRandom(107)
        let b = 16, k = 1 + 1024
        let labels = (0..<b).map { Float(($0 * 131) % k) }
        var mask = [Float](repeating: 0, count: b * k)
        for r in 0..<b { mask[r * k] = 1; for j in 0..<(r % 4) { mask[r * k + 1 + (j * 97 + r * 13) % (k - 1)] = 1 } }
        let specs = [Spec([b, k], &rng, -8, 8), Spec([b], labels), Spec([b, k], &rng, -8, 8), Spec([b, k], mask),
                     Spec([1]), Spec([b, k]), Spec([1]), Spec([b, k]), Spec([1]), Spec([b, k]), Spec([1])]
        try parity("losses", specs, abs: 1e-6, rel: 1e-4) { d, t in
            d.softmaxCrossEntropy(logits: t[0], labels: t[1], scale: 1, loss: t[4], dLogits: t[5])
            d.softTargetCrossEntropy(logits: t[0], targetLogits: t[2], scale: 0.5, loss: t[6], dLogits: t[7])
            d.maskedCrossEntropy(logits: t[0], positives: t[3], scale: 2, loss: t[8], dLogits: t[9])
            d.softmaxCrossEntropy(logits: t[2], labels: t[1], scale: 1, loss: t[10], dLogits: nil)
        }
    }

    func testContrastiveLogitsNNMAndEnqueue() throws {
        var rng = TestRandom(108)
        let b = 16, d = 128, kq = 512, tau: Float = 0.2
        let specs = [Spec([b, d], &rng), Spec([b, d], &rng), Spec([d, kq], &rng), Spec([b, 1 + kq]),
                     Spec([b, 1 + kq], &rng), Spec([b, d])]
        try parity("contrastiveLogits", specs, abs: 1e-4, rel: 1e-4) { dev, t in
            dev.contrastiveLogits(q: t[0], k: t[1], queue: t[2], temperature: tau, logits: t[3])
            dev.contrastiveLogitsBackward(k: t[1], queue: t[2], temperature: tau, dLogits: t[4], dq: t[5])
        }
        var tied = rng.values(b * (1 + kq))
        for r in 0..<b { tied[r * (1 + kq) + 5] = 0.999; tied[r * (1 + kq) + 9] = 0.999 }
        tied[2 * (1 + kq) + 1] = .nan  // never selected
        tied[3 * (1 + kq) + 5] = .nan
        for topK in [1, 5] {
            try parity("nearestNeighbourMask topK \(topK)",
                       [Spec([b, 1 + kq], &rng), Spec([b, 1 + kq], tied), Spec([b, 1 + kq], fill: 3)], abs: 0, rel: 0) { dev, t in
                dev.nearestNeighbourMask(similarities: [t[0], t[1]], topK: topK, mask: t[2])
            }
        }
        try parity("enqueue", [Spec([b, d], &rng), Spec([d, kq], &rng)], abs: 0, rel: 0) { dev, t in
            dev.enqueue(keys: t[0], queue: t[1], pointer: 3 * b)
        }
    }

    // MARK: EADM

    func testEADM() throws {
        var rng = TestRandom(109)
        let s = ActivationShape(channels: 256, batch: 4, frames: 13, joints: 25)
        var xv = rng.values(s.count, 0, 1).map { $0 < 0.3 ? 0 : $0 }  // ReLU-like zeros
        for c in 0..<s.channels { for t in 0..<s.frames { xv[((c * s.batch + 1) * s.frames + t) * s.joints + 7] += 3 } }
        for noOp in [false, true] {
            let r = try parity("eadm noOp \(noOp)", [Spec(s.dims, xv), Spec(s.dims), Spec(s.dims)], abs: 0, rel: 2e-6) { d, t in
                d.eadmForward(x: t[0], shape: s, threshold: 0.7, lambda: 1e-4, noOp: noOp, scale: t[1], y: t[2])
            }
            XCTAssertEqual(r.cl[1].map { $0 == 0 }, r.cpu[1].map { $0 == 0 }, "EADM mask noOp \(noOp)")
            if !noOp { XCTAssertTrue(r.cpu[1].contains(0), "EADM drops something") }
        }
    }

    // MARK: Optimisation and GEMM

    func testOptimiserSteps() throws {
        var rng = TestRandom(110)
        let n = 10_007
        let specs = [Spec([n], &rng), Spec([n], &rng), Spec([n], fill: .nan), Spec([n], &rng), Spec([n], &rng), Spec([1])]
        try parity("sgd/momentum/sumOfSquares", specs, abs: 1e-6, rel: 1e-5) { d, t in
            d.sgdStep(weight: t[0], grad: t[1], momentumBuffer: t[2], learningRate: 0.1, momentum: 0.9,
                      weightDecay: 1e-4, firstStep: true)
            d.sgdStep(weight: t[0], grad: t[3], momentumBuffer: t[2], learningRate: 0.1, momentum: 0.9,
                      weightDecay: 1e-4, firstStep: false)
            d.momentumUpdate(key: t[4], query: t[0], momentum: 0.999)
            d.sumOfSquares(t[3], out: t[5])
        }
    }

    func testGemmAndStridedBatched() throws {
        var rng = TestRandom(111)
        let m = 48, n = 650, k = 144
        try parity("gemm", [Spec([k, m], &rng), Spec([n, k], &rng), Spec([m + 1, n], &rng)], abs: 1e-4, rel: 1e-4) { d, t in
            d.gemm(transA: true, transB: true, m: m, n: n, k: k, alpha: 0.5, a: t[0], aOffset: 0, lda: m,
                   b: t[1], bOffset: 0, ldb: k, beta: 1, c: t[2], cOffset: n, ldc: n)
        }
        try parity("gemmStridedBatched", [Spec([3, 25, 40], &rng), Spec([3, 40, 25], &rng), Spec([3, 25, 25])],
                   abs: 1e-5, rel: 1e-5) { d, t in
            d.gemmStridedBatched(transA: false, transB: false, m: 25, n: 25, k: 40, alpha: 1,
                                 a: t[0], aOffset: 0, lda: 40, strideA: 1000, b: t[1], bOffset: 0, ldb: 25, strideB: 1000,
                                 beta: 0, c: t[2], cOffset: 0, ldc: 25, strideC: 625, batch: 3)
        }
    }

    /// Weight-gradient shapes (small m·n, long k) take the split-K path: every transpose, a k
    /// that leaves a remainder block, offsets, ldc > n, and beta 0 over NaN (never read) or 0.5.
    func testSplitKGemm() throws {
        var rng = TestRandom(113)
        let cl = try OpenCLTestDevice.get()
        let m = 7, n = 5, k = 5003, ldc = 9, off = 3
        XCTAssertGreaterThan(cl.splitKChunks(m: m, n: n, k: k), 1, "shape must take the split-K path")
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for beta: Float in [0, 0.5] {
                let cFill: [Float] = beta == 0 ? [Float](repeating: .nan, count: off + m * ldc)
                                               : rng.values(off + m * ldc, -1, 1)
                let name = "split-K gemm transA \(ta) transB \(tb) beta \(beta)"
                let (cpu, gpu) = try parity(name, [Spec([off + m * k], &rng), Spec([off + k * n], &rng),
                                                   Spec([off + m * ldc], cFill)],
                                            abs: 1e-3, rel: 1e-4, ignoring: [2]) { d, t in
                    d.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: t[0], aOffset: off,
                           lda: ta ? m : k, b: t[1], bOffset: off, ldb: tb ? k : n, beta: beta,
                           c: t[2], cOffset: off, ldc: ldc)
                }
                // Only the m×n window of C is written: the padding columns and the offset keep their contents.
                for i in 0..<(off + m * ldc) {
                    let inside = i >= off && (i - off) % ldc < n
                    if inside {
                        XCTAssertEqual(gpu[2][i], cpu[2][i], accuracy: 1e-3 + 1e-4 * Swift.abs(cpu[2][i]), "\(name) [\(i)]")
                    } else {
                        XCTAssertEqual(gpu[2][i].bitPattern, cFill[i].bitPattern, "\(name) [\(i)] outside C was written")
                    }
                }
            }
        }
        // The split and the single CLBlast GEMM agree.
        let a = try cl.tensor(rng.values(m * k, -1, 1), shape: [m, k]), b = try cl.tensor(rng.values(k * n, -1, 1), shape: [k, n])
        var results: [[Float]] = []
        for split in [true, false] {
            cl.splitKGEMM = split
            defer { cl.splitKGEMM = true }
            let c = try cl.makeTensor([m, n])
            cl.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, aOffset: 0, lda: k,
                    b: b, bOffset: 0, ldb: n, beta: 0, c: c, cOffset: 0, ldc: n)
            results.append(cl.read(c))
        }
        expectClose(results[0], results[1], abs: 1e-3, rel: 1e-4, "split-K vs single GEMM")
    }
}
