import Compute
import CPUBackend
import XCTest
@testable import NN

/// Finite-difference checks of the whole encoder backward (all layers, both BN modes, dropout,
/// identity and conv residuals, projection head, data BN and the input), and of the gradient
/// accumulation over two contexts and two head passes.
///
/// Tolerance. The loss L = Σ R ⊙ output is evaluated in float32 and summed in double. One
/// evaluation carries a rounding error of a few ulps of S = Σ |R ⊙ output| (we allow 4·ε·S,
/// ε = 2⁻²³), so a central difference with step h errs by up to 4·ε·S/h from rounding, plus
/// O(h²) truncation where the loss is smooth. ReLU kinks break smoothness: a probe whose
/// perturbation moves some pre-activation across zero gets an O(h) error. So every probe is
/// evaluated at two steps, h and h/2 ("double-checked"): when they disagree by more than the
/// tolerance the probe straddles a kink and is skipped (at most a quarter of the probes may be).
/// A kept probe must match the analytic gradient within 4·ε·S/(h/2) + 1e-2·|g| (the relative
/// term covers truncation). Steps of 2e-3 and 1e-3 balance the two error sources for weights
/// of order 0.1–1.
final class GradientCheckTests: XCTestCase {
    let joints = 6
    let frames = 12

    /// `frameMajor`: every stride-1 block runs on the frame-major view (blocks 1 and 2).
    func smallEncoder(device: Device, dropout: Float, frameMajor: Bool = false, projectorBN: Bool = false) throws -> STGCN {
        let blocks = [
            BlockSpec(inChannels: 3, outChannels: 4, stride: 1, residual: .none, dropout: 0),
            BlockSpec(inChannels: 4, outChannels: 4, stride: 1, residual: .identity, dropout: dropout),
            BlockSpec(inChannels: 4, outChannels: 6, stride: 2, residual: .convolution, dropout: 0),
        ]
        var config = STGCNConfig(hiddenChannels: 4, hiddenDim: 6, dropout: dropout,
                                 adjacency: TestSupport.adjacency(joints: joints), joints: joints,
                                 head: .projection(hidden: 5, out: 3), blocks: blocks)
        config.frameMajorMinimumChannels = frameMajor ? 1 : nil
        config.projectionBatchNorm = projectorBN
        let e = try STGCN(config: config, device: device, seed: 11)
        XCTAssertEqual(e.blocks.map { $0.frameMajor }, [frameMajor, frameMajor, false])
        TestSupport.randomizeState(e, seed: 5)
        return e
    }

    /// Central differences at steps h and h/2 for chosen coordinates of `values`, compared with
    /// `analytic`. `evaluate` must compute the loss after `apply` wrote the perturbed values.
    func check(_ what: String, values: [Float], analytic: [Float], probes: [Int], h: Float,
               scale: Double, apply: ([Float]) -> Void, evaluate: () throws -> Double,
               skipped: inout Int, total: inout Int) throws {
        let eps = Double(Float.ulpOfOne)
        for i in probes {
            func central(_ step: Float) throws -> Double {
                var v = values
                v[i] = values[i] + step
                apply(v)
                let plus = try evaluate()
                v[i] = values[i] - step
                apply(v)
                let minus = try evaluate()
                return (plus - minus) / Double(2 * step)
            }
            let d1 = try central(h)
            let d2 = try central(h / 2)
            apply(values)
            total += 1
            let g = Double(analytic[i])
            let tol = 4 * eps * scale / Double(h / 2) + 1e-2 * abs(g)
            if abs(d1 - d2) > tol {
                skipped += 1
                continue
            }
            XCTAssertEqual(g, d2, accuracy: tol, "\(what)[\(i)]: analytic \(g) vs finite difference \(d2) (h \(h / 2))")
        }
    }

    func probes(count: Int, k: Int) -> [Int] {
        Array(Set((0..<k).map { ($0 * 7919 + 13) % count })).sorted()
    }

    func runWholeEncoderCheck(training: Bool, frameMajor: Bool = false, dataSeed: UInt64 = 9,
                              projectorBN: Bool = false, samples: Int = 2) throws {
        let device = TestSupport.cpu()
        let e = try smallEncoder(device: device, dropout: 0.5, frameMajor: frameMajor, projectorBN: projectorBN)
        let ctx = try e.makeContext(samples: samples, frames: frames, persons: 2)
        let input = TestSupport.uniform(count: ctx.geometry.count, lo: -1, hi: 1, seed: dataSeed, stream: 1)
        input.withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
        let r = TestSupport.uniform(count: samples * 3, lo: -1, hi: 1, seed: dataSeed, stream: 2)
        let rTensor = try device.tensor(r, shape: [samples, 3])
        let keys = DropoutKeys(seed: 42, encoder: 1, site: 3, step: 7)

        func loss() throws -> (Double, Double) {
            try e.forward(ctx.input, context: ctx, training: training, dropout: keys)
            let out = device.read(ctx.output)
            var l = 0.0, s = 0.0
            for i in 0..<out.count { l += Double(r[i] * out[i]); s += Double(abs(r[i] * out[i])) }
            return (l, s)
        }

        e.zeroGradients()
        let (_, scale) = try loss()
        let dInput = device.read(try e.backward(context: ctx, dOutput: rTensor))
        XCTAssertTrue(e.parameters.allSatisfy { $0.hasGradient })

        var skipped = 0, total = 0
        for p in e.parameters {
            let values = device.read(p.value)
            let grad = device.read(p.gradient)
            try check(p.name, values: values, analytic: grad, probes: probes(count: p.count, k: 2), h: 2e-3,
                      scale: scale, apply: { v in v.withUnsafeBufferPointer { device.upload($0, to: p.value) } },
                      evaluate: { try loss().0 }, skipped: &skipped, total: &total)
        }
        try check("input", values: input, analytic: dInput, probes: probes(count: input.count, k: 8), h: 2e-3,
                  scale: scale, apply: { v in v.withUnsafeBufferPointer { device.upload($0, to: ctx.input) } },
                  evaluate: { try loss().0 }, skipped: &skipped, total: &total)
        XCTAssertLessThanOrEqual(skipped * 4, total, "too many probes straddle a kink (\(skipped) of \(total))")
        XCTAssertGreaterThan(total, 50)
    }

    func testWholeEncoderGradientsTrainingMode() throws {
        try runWholeEncoderCheck(training: true)
    }

    func testWholeEncoderGradientsEvalMode() throws {
        try runWholeEncoderCheck(training: false)
    }

    /// The `--projector-bn` head (Linear → BatchNorm1d → ReLU → Linear, names fc.0, fc.1, fc.3):
    /// the representation and head-parameter gradients against central differences in training
    /// mode (batch statistics over four samples, so every input moves every output), and the
    /// whole encoder in eval mode. (In training mode the whole-encoder probes of this tiny network
    /// meet the head's 20 batch-normalised ReLUs, whose kinks every backbone weight moves at once.)
    func testProjectorBatchNormGradients() throws {
        let device = TestSupport.cpu()
        let e = try smallEncoder(device: device, dropout: 0, projectorBN: true)
        XCTAssertEqual(e.head.parameters.map(\.name), ["fc.0.weight", "fc.0.bias", "fc.1.weight", "fc.1.bias",
                                                       "fc.3.weight", "fc.3.bias"])
        XCTAssertEqual(e.buffers.suffix(2).map(\.name), ["fc.1.running_mean", "fc.1.running_var"])
        let n = 4
        let a = try e.head.makeRepresentationActivations(samples: n)
        let representation = TestSupport.uniform(count: n * 6, lo: -1, hi: 1, seed: 3, stream: 1)
        let repTensor = try device.tensor(representation, shape: [n, 6])
        let r = TestSupport.uniform(count: n * 3, lo: -1, hi: 1, seed: 3, stream: 2)
        func loss() -> (Double, Double) {
            e.head.forward(representation: repTensor, activations: a, training: true)
            let out = device.read(a.output)
            var l = 0.0, s = 0.0
            for i in out.indices { l += Double(r[i] * out[i]); s += Double(abs(r[i] * out[i])) }
            return (l, s)
        }
        let (_, scale) = loss()
        e.zeroGradients()
        let dRep = device.read(try e.head.backwardRepresentation(activations: a, dOutput: try device.tensor(r, shape: [n, 3])))
        var skipped = 0, total = 0
        for p in e.head.parameters {
            try check(p.name, values: device.read(p.value), analytic: device.read(p.gradient),
                      probes: probes(count: p.count, k: 4), h: 2e-3, scale: scale,
                      apply: { v in v.withUnsafeBufferPointer { device.upload($0, to: p.value) } },
                      evaluate: { loss().0 }, skipped: &skipped, total: &total)
        }
        try check("representation", values: representation, analytic: dRep, probes: Array(0..<(n * 6)), h: 2e-3,
                  scale: scale, apply: { v in v.withUnsafeBufferPointer { device.upload($0, to: repTensor) } },
                  evaluate: { loss().0 }, skipped: &skipped, total: &total)
        XCTAssertLessThanOrEqual(skipped * 4, total, "too many probes straddle a kink (\(skipped) of \(total))")
        // fc.0's bias feeds a training-mode batch norm: its gradient is zero.
        XCTAssertLessThan(device.read(e.head.parameters[1].gradient).map { abs($0) }.max() ?? 1, 1e-5)
        try runWholeEncoderCheck(training: false, projectorBN: true, samples: 4)
    }

    /// Frame-major blocks with dropout (their masks are drawn over the frame-major order, so the
    /// function differs from the sample-major one). The whole-encoder check is sensitive to ReLU
    /// kinks that every step size crosses alike (after training-mode batch norm a perturbed weight
    /// moves every activation); with some data seeds a probe or two lands on one, in both layouts.
    /// Seed 11 avoids that for both.
    func testWholeEncoderGradientsFrameMajorBlocks() throws {
        try runWholeEncoderCheck(training: true, frameMajor: true, dataSeed: 11)
    }

    /// Frame-major blocks compute the same function (no dropout: its mask is drawn over the
    /// other order): outputs, input gradient and parameter gradients agree with sample-major
    /// blocks within float rounding, in training and in eval mode; also with their temporal
    /// convolutions in the DFT domain (the spectral path, forced onto these narrow layers).
    func testFrameMajorBlocksMatchSampleMajor() throws {
        let plain = CPUDevice(), spectral = CPUDevice()
        spectral.directTemporalConvolution.maximumChannels = 1
        spectral.spectralMinimumPositions = 1
        spectral.spectralWindowColumns = 10
        XCTAssertTrue(spectral.usesSpectralTemporalConv(stride: 1, kernel: 9, input: ActivationShape(channels: 4, batch: 1,
                                                        frames: frames, joints: 3 * 2 * joints), outputChannels: 4))
        for (training, device) in [(true, plain), (false, plain), (true, spectral), (false, spectral)] {
            func run(frameMajor: Bool) throws -> [[Float]] {
                let e = try smallEncoder(device: frameMajor ? device : plain, dropout: 0, frameMajor: frameMajor)
                let ctx = try e.makeContext(samples: 3, frames: frames, persons: 2)
                TestSupport.uniform(count: ctx.geometry.count, lo: -1, hi: 1, seed: 8, stream: 1)
                    .withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
                let d = try device.tensor(TestSupport.uniform(count: 9, lo: -1, hi: 1, seed: 8, stream: 2), shape: [3, 3])
                e.zeroGradients()
                try e.forward(ctx.input, context: ctx, training: training)
                let dIn = device.read(try e.backward(context: ctx, dOutput: d))
                return [device.read(ctx.output), device.read(ctx.features), dIn]
                    + e.parameters.map { device.read($0.gradient) }
            }
            let want = try run(frameMajor: false), got = try run(frameMajor: true)
            for (i, (w, g)) in zip(want, got).enumerated() {
                let scale = w.map { abs($0) }.max() ?? 0
                for j in w.indices {
                    XCTAssertEqual(g[j], w[j], accuracy: 1e-7 + 2e-5 * scale + 1e-4 * abs(w[j]),
                                   "tensor \(i)[\(j)] training \(training) spectral \(device === spectral)")
                }
            }
        }
    }

    /// Two contexts (two views with their own BN batches and dropout masks): backward of both
    /// accumulates exactly the sum of the two separate backwards.
    func testTwoContextsAccumulate() throws {
        let device = TestSupport.cpu()
        let e = try smallEncoder(device: device, dropout: 0.5)
        let c1 = try e.makeContext(samples: 2, frames: frames, persons: 2)
        let c2 = try e.makeContext(samples: 2, frames: frames, persons: 2)
        let x1 = TestSupport.uniform(count: c1.geometry.count, lo: -1, hi: 1, seed: 3, stream: 1)
        let x2 = TestSupport.uniform(count: c1.geometry.count, lo: -2, hi: 1, seed: 3, stream: 2)
        x1.withUnsafeBufferPointer { device.upload($0, to: c1.input) }
        x2.withUnsafeBufferPointer { device.upload($0, to: c2.input) }
        let d1 = try device.tensor(TestSupport.uniform(count: 6, lo: -1, hi: 1, seed: 3, stream: 3), shape: [2, 3])
        let d2 = try device.tensor(TestSupport.uniform(count: 6, lo: -1, hi: 1, seed: 3, stream: 4), shape: [2, 3])
        let k1 = DropoutKeys(seed: 1, encoder: 0, site: 0, step: 5)
        let k2 = DropoutKeys(seed: 1, encoder: 0, site: 1, step: 5)

        func separate(_ ctx: STGCN.Context, _ keys: DropoutKeys, _ d: Tensor) throws -> [[Float]] {
            e.zeroGradients()
            try e.forward(ctx.input, context: ctx, training: true, dropout: keys)
            try e.backward(context: ctx, dOutput: d)
            return e.parameters.map { device.read($0.gradient) }
        }
        let g1 = try separate(c1, k1, d1)
        let g2 = try separate(c2, k2, d2)

        e.zeroGradients()
        try e.forward(c1.input, context: c1, training: true, dropout: k1)
        try e.forward(c2.input, context: c2, training: true, dropout: k2)
        try e.backward(context: c1, dOutput: d1)
        try e.backward(context: c2, dOutput: d2)
        for (i, p) in e.parameters.enumerated() {
            let sum = zip(g1[i], g2[i]).map { $0 + $1 }
            assertClose(device.read(p.gradient), sum, abs: 1e-6, rel: 1e-5, p.name)
        }
        // The views drew different dropout masks.
        XCTAssertNotEqual(device.read(c1.blockOutputs[1]), device.read(c2.blockOutputs[1]))
    }

    /// One backbone pass, two head passes (F and a masked F, as AimCLR's extreme view does with
    /// EADM): the summed feature gradient and the shared fc gradients match finite differences.
    func testTwoHeadPassesShareTheBackbone() throws {
        let device = TestSupport.cpu()
        let e = try smallEncoder(device: device, dropout: 0)
        let ctx = try e.makeContext(samples: 2, frames: frames, persons: 2)
        let second = try e.makeHeadActivations(for: ctx)
        let input = TestSupport.uniform(count: ctx.geometry.count, lo: -1, hi: 1, seed: 4, stream: 1)
        input.withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
        let fShape = ctx.featureShape
        // A fixed mask-and-scale, standing in for EADM's stop-gradient scale tensor.
        let maskValues = TestSupport.uniform(count: fShape.count, lo: 0, hi: 1, seed: 4, stream: 2)
            .map { $0 < 0.3 ? Float(0) : Float(1.4) }
        let mask = try device.tensor(maskValues, shape: fShape.dims)
        let dropped = try device.makeTensor(fShape.dims)
        let r1 = TestSupport.uniform(count: 6, lo: -1, hi: 1, seed: 4, stream: 3)
        let r2 = TestSupport.uniform(count: 6, lo: -1, hi: 1, seed: 4, stream: 4)

        func loss() throws -> (Double, Double) {
            let f = try e.forwardFeatures(ctx.input, context: ctx, training: true)
            e.forwardHead(features: f, head: ctx.head)
            device.multiply(f, mask, y: dropped)
            e.forwardHead(features: dropped, head: second)
            let o1 = device.read(ctx.output), o2 = device.read(second.output)
            var l = 0.0, s = 0.0
            for i in 0..<6 {
                l += Double(r1[i] * o1[i] + r2[i] * o2[i])
                s += Double(abs(r1[i] * o1[i]) + abs(r2[i] * o2[i]))
            }
            return (l, s)
        }
        e.zeroGradients()
        let (_, scale) = try loss()
        let dF = try e.backwardHead(ctx.head, dOutput: try device.tensor(r1, shape: [2, 3]))
        let dF2 = try e.backwardHead(second, dOutput: try device.tensor(r2, shape: [2, 3]))
        device.multiply(dF2, mask, y: dF2)
        device.add(dF, dF2, y: dF)
        try e.backwardFeatures(context: ctx, dFeatures: dF)

        var skipped = 0, total = 0
        for name in ["fc.0.weight", "fc.2.bias", "st_gcn_networks.2.tcn.2.weight", "st_gcn_networks.0.gcn.conv.weight",
                     "edge_importance.1", "data_bn.weight"] {
            let p = try XCTUnwrap(e.parameter(named: name))
            try check(name, values: device.read(p.value), analytic: device.read(p.gradient),
                      probes: probes(count: p.count, k: 3), h: 2e-3, scale: scale,
                      apply: { v in v.withUnsafeBufferPointer { device.upload($0, to: p.value) } },
                      evaluate: { try loss().0 }, skipped: &skipped, total: &total)
        }
        XCTAssertLessThanOrEqual(skipped * 4, total, "too many probes straddle a kink (\(skipped) of \(total))")
    }

    /// A frozen backbone (linear evaluation) gets no gradient; the head still does.
    func testFrozenParametersKeepNoGradient() throws {
        let device = TestSupport.cpu()
        let e = try smallEncoder(device: device, dropout: 0)
        for p in e.backboneParameters { p.trainable = false }
        let ctx = try e.makeContext(samples: 2, frames: frames, persons: 2)
        device.fill(ctx.input, value: 0.5)
        e.zeroGradients()
        try e.forward(ctx.input, context: ctx, training: false)
        try e.backwardHead(ctx.head, dOutput: try device.tensor(filledWith: 1, shape: [2, 3]))
        XCTAssertTrue(e.head.parameters.allSatisfy { $0.hasGradient })
        XCTAssertTrue(e.backboneParameters.allSatisfy { !$0.hasGradient })
        let sgd = SGD(parameters: e.parameters, momentum: 0.9, weightDecay: 0)
        let before = device.read(e.backboneParameters[0].value)
        try sgd.step(learningRate: 1)
        XCTAssertEqual(device.read(e.backboneParameters[0].value), before)
    }

    /// The storage plans agree: streamed im2col columns (rebuilt in the backward) give the same
    /// outputs and input gradient and the same parameter gradients up to summation order (the
    /// weight gradient is summed block by block), and a forward-only context (aliased scratch)
    /// gives the same outputs. The direct temporal-convolution kernels (streamed plan, AVX-512)
    /// sum in another order again, so they agree within float rounding.
    func testStoragePlansAgree() throws {
        let device = CPUDevice()
        func run(recompute: Bool, direct: Bool) throws -> ([Float], [[Float]], [Float]) {
            device.directTemporalConvolution = DirectTemporalConvolution(enabled: direct)
            let plain = try smallEncoder(device: device, dropout: 0.5)
            var config = plain.config
            config.recomputeTemporalColumns = recompute
            let e = try STGCN(config: config, device: device, seed: 11)
            TestSupport.randomizeState(e, seed: 5)
            let c1 = try e.makeContext(samples: 2, frames: frames, persons: 2)
            let c2 = try e.makeContext(samples: 2, frames: frames, persons: 2)
            let c3 = try e.makeContext(samples: 2, frames: frames, persons: 2, requiresGrad: false)
            let x = TestSupport.uniform(count: c1.geometry.count, lo: -1, hi: 1, seed: 6, stream: 1)
            x.withUnsafeBufferPointer { device.upload($0, to: c1.input); device.upload($0, to: c3.input) }
            TestSupport.uniform(count: c1.geometry.count, lo: -1, hi: 2, seed: 6, stream: 2)
                .withUnsafeBufferPointer { device.upload($0, to: c2.input) }
            let d = try device.tensor(TestSupport.uniform(count: 6, lo: -1, hi: 1, seed: 6, stream: 3), shape: [2, 3])
            let keys = DropoutKeys(seed: 2, site: 0, step: 1)
            e.zeroGradients()
            try e.forward(c1.input, context: c1, training: true, dropout: keys)
            try e.forward(c2.input, context: c2, training: true, dropout: DropoutKeys(seed: 2, site: 1, step: 1))
            try e.forward(c3.input, context: c3, training: true, dropout: keys)
            XCTAssertEqual(device.read(c3.output), device.read(c1.output), "forward-only context")
            let dIn = device.read(try e.backward(context: c1, dOutput: d))
            try e.backward(context: c2, dOutput: d)
            return (dIn, e.parameters.map { device.read($0.gradient) }, device.read(c1.output))
        }
        let (dA, gA, oA) = try run(recompute: false, direct: false)
        let (dB, gB, oB) = try run(recompute: true, direct: false)
        XCTAssertEqual(oA, oB)
        XCTAssertEqual(dA, dB)
        func assertParametersClose(_ gB: [[Float]], floor: Float, _ what: String) {
            for i in 0..<gA.count {
                let scale = gA[i].map { abs($0) }.max() ?? 0
                for j in 0..<gA[i].count {
                    XCTAssertEqual(gA[i][j], gB[i][j], accuracy: floor + 1e-5 * scale + 1e-4 * abs(gA[i][j]),
                                   "\(what) parameter \(i)[\(j)]")
                }
            }
        }
        assertParametersClose(gB, floor: 0, "streamed im2col")
        // The direct kernels on every path this CPU runs.
        try CPUKernelPath.forEachSupported { path in
            let (dC, gC, oC) = try run(recompute: true, direct: true)
            let outScale = oA.map { abs($0) }.max() ?? 0, inScale = dA.map { abs($0) }.max() ?? 0
            for j in oA.indices { XCTAssertEqual(oA[j], oC[j], accuracy: 1e-5 * outScale, "direct output \(j), \(path)") }
            for j in dA.indices { XCTAssertEqual(dA[j], dC[j], accuracy: 1e-5 * inScale, "direct dInput \(j), \(path)") }
            // Biases right before a batch norm have exactly zero gradient; float rounding leaves ~1e-9.
            assertParametersClose(gC, floor: 1e-7, "direct kernels, \(path)")
        }
    }

    /// An evaluation forward in a forward-only context runs the fused path (each batch norm, the
    /// residual sum and the ReLUs applied as the convolutions' epilogues, the graph conv in
    /// cache-sized pieces); it matches the unfused eval forward of a trainable context within
    /// float rounding, with the direct temporal kernels (epilogue in registers) and without.
    func testFusedEvaluationForwardMatchesUnfused() throws {
        let device = CPUDevice()
        for (direct, frameMajor) in [(true, false), (false, false), (false, true), (true, true)] {
            device.directTemporalConvolution = DirectTemporalConvolution(enabled: direct)
            let e = try smallEncoder(device: device, dropout: 0.5, frameMajor: frameMajor)
            let trainable = try e.makeContext(samples: 3, frames: frames, persons: 2)
            let fused = try e.makeContext(samples: 3, frames: frames, persons: 2, requiresGrad: false)
            let x = TestSupport.uniform(count: trainable.geometry.count, lo: -1, hi: 1, seed: 7, stream: 1)
            x.withUnsafeBufferPointer { device.upload($0, to: trainable.input); device.upload($0, to: fused.input) }
            try e.forward(trainable.input, context: trainable, training: false)
            try e.forward(fused.input, context: fused, training: false)
            for (what, a, b) in [("features", trainable.features, fused.features),
                                 ("representation", trainable.representation, fused.representation),
                                 ("output", trainable.output, fused.output)] {
                let want = device.read(a), got = device.read(b)
                let scale = want.map { abs($0) }.max() ?? 0
                XCTAssertGreaterThan(scale, 0, what)
                for j in want.indices {
                    XCTAssertEqual(got[j], want[j], accuracy: 2e-6 * scale + 1e-5 * abs(want[j]),
                                   "\(what)[\(j)] direct \(direct) frame-major \(frameMajor)")
                }
            }
        }
    }

    func testContextCacheReusesPerGeometryAndTag() throws {
        let e = try smallEncoder(device: TestSupport.cpu(), dropout: 0)
        let g = InputGeometry(samples: 2, channels: 3, frames: frames, joints: joints, persons: 2)
        let a = try e.context(g, requiresGrad: true)
        XCTAssertTrue(a === (try e.context(g, requiresGrad: true)))
        XCTAssertFalse(a === (try e.context(g, requiresGrad: true, tag: 1)))
        XCTAssertFalse(a === (try e.context(g, requiresGrad: false)))
        var smaller = g
        smaller.samples = 1
        XCTAssertEqual(try e.context(smaller, requiresGrad: true).representation.shape, [1, 6])
        XCTAssertThrowsError(try e.makeContext(InputGeometry(samples: 2, channels: 2, frames: frames, joints: joints, persons: 2)))
    }

    /// A classifier trained on cached representations (frozen eval-mode backbone) sees the same
    /// outputs and fc gradients as one run through the pooled feature map.
    func testHeadOnCachedRepresentations() throws {
        let device = TestSupport.cpu()
        let plain = try smallEncoder(device: device, dropout: 0)
        var config = plain.config
        config.head = .classifier(numClass: 4)
        let e = try STGCN(config: config, device: device, seed: 3)
        TestSupport.randomizeState(e, seed: 12)
        let ctx = try e.makeContext(samples: 2, frames: frames, persons: 2, requiresGrad: false)
        TestSupport.uniform(count: ctx.geometry.count, lo: -1, hi: 1, seed: 2, stream: 0)
            .withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
        try e.forward(ctx.input, context: ctx, training: false)
        let d = try device.tensor(TestSupport.uniform(count: 8, lo: -1, hi: 1, seed: 2, stream: 1), shape: [2, 4])
        e.zeroGradients()
        try e.backwardHead(ctx.head, dOutput: d)
        let viaFeatures = e.head.parameters.map { device.read($0.gradient) }
        let dRepViaFeatures = device.read(ctx.head.dRepresentation)

        let cached = try device.makeTensor([2, 6])
        device.copy(ctx.representation, srcOffset: 0, to: cached, dstOffset: 0, count: 12)
        let a = try e.head.makeRepresentationActivations(samples: 2)
        e.head.forward(representation: cached, activations: a)
        XCTAssertEqual(device.read(a.output), device.read(ctx.output))
        e.zeroGradients()
        let dRep = try e.head.backwardRepresentation(activations: a, dOutput: d)
        XCTAssertEqual(device.read(dRep), dRepViaFeatures)
        for (i, p) in e.head.parameters.enumerated() { XCTAssertEqual(device.read(p.gradient), viaFeatures[i], p.name) }
        XCTAssertTrue(e.backboneParameters.allSatisfy { !$0.hasGradient })
    }
}
