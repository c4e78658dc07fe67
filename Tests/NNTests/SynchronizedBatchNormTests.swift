import Compute
import CPUBackend
import DataParallel
import Foundation
import OpenCLBackend
import XCTest
@testable import NN

/// Synchronised batch norm on rank slices (ranks as threads of this process, `ThreadRanks`)
/// against plain batch norm on the whole batch: one layer forward and backward, a
/// finite-difference check of the synced layer, and a whole encoder forward and backward.
///
/// Tolerance: |a − b| ≤ 1e-5·max|b| + 1e-5·|b| per tensor (summation order is all that differs:
/// per-rank sums combined in Double against one sum over the whole channel).
final class SynchronizedBatchNormTests: XCTestCase {
    enum Backend { case cpu, openCL }

    func makeDevice(_ backend: Backend) throws -> Device {
        switch backend {
        case .cpu: return CPUDevice()
        case .openCL:
            do { return try OpenCLDevice(index: 0) } catch {
                if ProcessInfo.processInfo.environment["CI"] == "true" {
                    XCTFail("CI=true but OpenCL device 0 is unavailable: \(error)")
                }
                throw XCTSkip("no OpenCL device: \(error)")
            }
        }
    }

    /// Rank `r` of `ranks`' part of a channel-major (C, N, L) tensor: samples [r·N/R, (r+1)·N/R).
    func slice(_ x: [Float], channels c: Int, samples n: Int, rank r: Int, ranks: Int) -> [Float] {
        let l = x.count / (c * n), part = n / ranks
        var out: [Float] = []
        out.reserveCapacity(c * part * l)
        for ch in 0 ..< c {
            let start = (ch * n + r * part) * l
            out += x[start ..< start + part * l]
        }
        return out
    }

    /// The inverse of `slice`: the ranks' parts put back into one (C, N, L) tensor.
    func join(_ parts: [[Float]], channels c: Int) -> [Float] {
        let ranks = parts.count
        let perChannel = parts.map { $0.count / c }
        var out: [Float] = []
        for ch in 0 ..< c {
            for r in 0 ..< ranks { out += parts[r][(ch * perChannel[r]) ..< ((ch + 1) * perChannel[r])] }
        }
        return out
    }

    /// Worst |a − b| / (1e-5·max|b| + 1e-5·|b|) (≤ 1 passes), with the assertion.
    @discardableResult
    func assertMatches(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath,
                       line: UInt = #line) -> Double {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = Double(b.map { abs($0) }.max() ?? 0)
        var worst = 0.0, at = 0
        for i in 0 ..< min(a.count, b.count) {
            let allowed = 1e-5 * scale + 1e-5 * Double(abs(b[i]))
            let r = allowed > 0 ? Double(abs(a[i] - b[i])) / allowed : (a[i] == b[i] ? 0 : .infinity)
            if r > worst { worst = r; at = i }
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(what): element \(at) is \(a[at]) against \(b[at]) (scale \(scale))",
                                 file: file, line: line)
        return worst
    }

    /// Activations with channel offsets from small to large against their spread; the last
    /// channel is nearly constant (offset 3, spread 1e-3), as a channel becomes where most
    /// samples carry the same values (zero-padded second bodies): batch norm then amplifies
    /// every rounding of x − mean by |mean|/σ ≈ 3000.
    ///
    /// The OpenCL kernels accumulate the statistics in float (chunk sums of 4096), so there the
    /// mean of such a channel is off by ~1e-7·√4096·|mean|, i.e. 2 % of σ, on one rank as on
    /// several: the OpenCL check uses a spread of 0.1 (|mean|/σ ≈ 50) instead.
    func activations(channels c: Int, count: Int, seed: UInt64, constantSpread: Float = 1e-3) -> [Float] {
        let u = TestSupport.uniform(count: c * count, lo: -1, hi: 1, seed: seed, stream: 1)
        return (0 ..< c * count).map { i in
            let ch = i / count
            if ch == c - 1 { return 3 + constantSpread * u[i] }
            return Float(ch) * 1.5 - 1 + (0.2 + 0.6 * Float(ch)) * u[i]
        }
    }

    struct LayerResult {
        var y: [Float], dx: [Float], dGamma: [Float], dBeta: [Float], runningMean: [Float], runningVar: [Float]
    }

    /// One training forward and backward of a BN layer over (C, N, L) `x` with incoming `dy`
    /// (masked by the ReLU's output when `relu`).
    func runLayer(_ bn: BatchNorm, device: Device, x: [Float], dy: [Float], relu: Bool) throws -> LayerResult {
        let c = bn.channels
        let tx = try device.tensor(x, shape: [c, x.count / c]), ty = try device.makeTensor([c, x.count / c])
        let tdy = try device.tensor(dy, shape: [c, x.count / c]), tdx = try device.makeTensor([c, x.count / c])
        let saved = try bn.makeSaved()
        bn.forward(x: tx, y: ty, saved: saved, training: true, relu: relu)
        if relu { device.reluBackward(y: ty, dy: tdy, dx: tdy) }
        bn.weight.zeroGradient(); bn.bias.zeroGradient()
        try bn.backward(x: tx, dy: tdy, dx: tdx, saved: saved)
        try device.checkErrors()
        return LayerResult(y: device.read(ty), dx: device.read(tdx), dGamma: device.read(bn.weight.gradient),
                           dBeta: device.read(bn.bias.gradient), runningMean: device.read(bn.runningMean.value),
                           runningVar: device.read(bn.runningVar.value))
    }

    func makeLayer(device: Device, channels c: Int) throws -> BatchNorm {
        let bn = try BatchNorm(device: device, channels: c, name: "bn")
        TestSupport.uniform(count: c, lo: 0.6, hi: 1.4, seed: 3, stream: 1)
            .withUnsafeBufferPointer { device.upload($0, to: bn.weight.value) }
        TestSupport.uniform(count: c, lo: -0.5, hi: 0.5, seed: 3, stream: 2)
            .withUnsafeBufferPointer { device.upload($0, to: bn.bias.value) }
        return bn
    }

    /// The layer on `ranks` slices against the whole batch.
    func checkLayer(_ backend: Backend, ranks: Int, relu: Bool) throws {
        let c = 4, n = 12, l = 50
        let x = activations(channels: c, count: n * l, seed: 21, constantSpread: backend == .cpu ? 1e-3 : 0.1)
        let dy = TestSupport.uniform(count: c * n * l, lo: -1, hi: 1, seed: 21, stream: 7).enumerated()
            .map { i, v in v + 0.3 * Float(i / (n * l)) }  // a mean component, as a loss gives
        let whole = try makeDevice(backend)
        let reference = try runLayer(try makeLayer(device: whole, channels: c), device: whole, x: x, dy: dy, relu: relu)

        let group = ThreadRanks(size: ranks)
        let layers = try (0 ..< ranks).map { r -> (BatchNorm, Device) in
            let d = try makeDevice(backend)
            let bn = try makeLayer(device: d, channels: c)
            try bn.synchronize(over: group.collectives[r])
            return (bn, d)
        }
        let parts = try group.run { r, _ in
            try self.runLayer(layers[r].0, device: layers[r].1, x: self.slice(x, channels: c, samples: n, rank: r, ranks: ranks),
                              dy: self.slice(dy, channels: c, samples: n, rank: r, ranks: ranks), relu: relu)
        }
        let tag = "\(backend), \(ranks) ranks\(relu ? ", ReLU" : "")"
        assertMatches(join(parts.map(\.y), channels: c), reference.y, "y (\(tag))")
        assertMatches(join(parts.map(\.dx), channels: c), reference.dx, "dx (\(tag))")
        func sum(_ v: [[Float]]) -> [Float] { (0 ..< c).map { i in v.reduce(0) { $0 + $1[i] } } }
        assertMatches(sum(parts.map(\.dGamma)), reference.dGamma, "dGamma summed over ranks (\(tag))")
        assertMatches(sum(parts.map(\.dBeta)), reference.dBeta, "dBeta summed over ranks (\(tag))")
        for p in parts {
            assertMatches(p.runningMean, reference.runningMean, "running mean (\(tag))")
            assertMatches(p.runningVar, reference.runningVar, "running variance (\(tag))")
            XCTAssertEqual(p.runningMean, parts[0].runningMean, "ranks hold different running means")
        }
    }

    func testLayerOnTwoRanksEqualsWholeBatchCPU() throws {
        try checkLayer(.cpu, ranks: 2, relu: false)
        try checkLayer(.cpu, ranks: 2, relu: true)
    }

    func testLayerOnThreeRanksEqualsWholeBatchCPU() throws {
        try checkLayer(.cpu, ranks: 3, relu: false)
    }

    func testLayerOnTwoRanksEqualsWholeBatchOpenCL() throws {
        try checkLayer(.openCL, ranks: 2, relu: false)
        try checkLayer(.openCL, ranks: 3, relu: true)
    }

    /// Finite differences of L = Σ_ranks Σ R ⊙ y through the synced layer on 2 ranks: the
    /// analytic dx (every rank's x moves the shared statistics, so each probe reruns all ranks)
    /// and dγ, dβ summed over ranks. Central differences at h = 1e-2 (the layer is smooth; the
    /// truncation error is O(h²) ≈ 1e-4 relative), float rounding of L allows 4·ε·Σ|R ⊙ y|/h.
    func testSynchronizedLayerGradientsMatchFiniteDifferences() throws {
        let c = 3, n = 8, l = 20, ranks = 2
        // The third channel with spread 1 (a difference quotient cannot resolve one of 1e-3 at this h).
        let x = activations(channels: c, count: n * l, seed: 5, constantSpread: 1)
        let r = TestSupport.uniform(count: c * n * l, lo: -1, hi: 1, seed: 5, stream: 3)
        let group = ThreadRanks(size: ranks)
        let layers = try (0 ..< ranks).map { rank -> (BatchNorm, Device) in
            let d = CPUDevice()
            let bn = try makeLayer(device: d, channels: c)
            try bn.synchronize(over: group.collectives[rank])
            return (bn, d)
        }
        let xs = (0 ..< ranks).map { slice(x, channels: c, samples: n, rank: $0, ranks: ranks) }
        let rs = (0 ..< ranks).map { slice(r, channels: c, samples: n, rank: $0, ranks: ranks) }
        // L and Σ|R ⊙ y| for the ranks' inputs `inputs` and the layers' current γ, β.
        func loss(_ inputs: [[Float]]) throws -> (Double, Double) {
            let parts = try group.run { rank, _ in
                try self.runLayer(layers[rank].0, device: layers[rank].1, x: inputs[rank], dy: rs[rank], relu: false)
            }
            var total = 0.0, size = 0.0
            for (p, rr) in zip(parts, rs) {
                for i in p.y.indices { total += Double(rr[i] * p.y[i]); size += Double(abs(rr[i] * p.y[i])) }
            }
            return (total, size)
        }
        let analytic = try group.run { rank, _ in
            try self.runLayer(layers[rank].0, device: layers[rank].1, x: xs[rank], dy: rs[rank], relu: false)
        }
        let (_, size) = try loss(xs)
        let h: Float = 1e-2
        let noise = 4 * Double(Float.ulpOfOne) * size / Double(h)
        var probes = 0
        for rank in 0 ..< ranks {
            for i in stride(from: 3, to: xs[rank].count, by: 23) {
                var plus = xs, minus = xs
                plus[rank][i] += h; minus[rank][i] -= h
                let numeric = (try loss(plus).0 - loss(minus).0) / Double(2 * h)
                let g = Double(analytic[rank].dx[i])
                XCTAssertEqual(g, numeric, accuracy: noise + 1e-3 * abs(g), "dx rank \(rank) [\(i)]")
                probes += 1
            }
        }
        // γ and β are replicated: a probe moves them on every rank.
        for (which, name) in [(0, "gamma"), (1, "beta")] {
            for ch in 0 ..< c {
                func shifted(_ delta: Float) throws -> Double {
                    for (bn, d) in layers {
                        let p = which == 0 ? bn.weight : bn.bias
                        var v = d.read(p.value); v[ch] += delta
                        v.withUnsafeBufferPointer { d.upload($0, to: p.value) }
                    }
                    defer {
                        for (bn, d) in layers {
                            let p = which == 0 ? bn.weight : bn.bias
                            var v = d.read(p.value); v[ch] -= delta
                            v.withUnsafeBufferPointer { d.upload($0, to: p.value) }
                        }
                    }
                    return try loss(xs).0
                }
                let numeric = (try shifted(h) - shifted(-h)) / Double(2 * h)
                let g = Double(analytic.reduce(Float(0)) { $0 + (which == 0 ? $1.dGamma[ch] : $1.dBeta[ch]) })
                XCTAssertEqual(g, numeric, accuracy: noise + 1e-3 * abs(g), "d\(name)[\(ch)]")
                probes += 1
            }
        }
        XCTAssertGreaterThan(probes, 20)
    }

    // MARK: Whole encoder

    /// The small encoder of the gradient checks: plain, identity and conv residual blocks.
    func smallEncoder(device: Device, dropout: Float, frameMajor: Bool = false) throws -> STGCN {
        let blocks = [
            BlockSpec(inChannels: 3, outChannels: 4, stride: 1, residual: .none, dropout: 0),
            BlockSpec(inChannels: 4, outChannels: 4, stride: 1, residual: .identity, dropout: dropout),
            BlockSpec(inChannels: 4, outChannels: 6, stride: 2, residual: .convolution, dropout: dropout),
        ]
        var config = STGCNConfig(hiddenChannels: 4, hiddenDim: 6, dropout: dropout,
                                 adjacency: TestSupport.adjacency(joints: 6), joints: 6,
                                 head: .projection(hidden: 5, out: 3), blocks: blocks)
        config.frameMajorMinimumChannels = frameMajor ? 1 : nil
        let e = try STGCN(config: config, device: device, seed: 11)
        TestSupport.randomizeState(e, seed: 5)
        return e
    }

    struct EncoderResult {
        var output: [Float], dInput: [Float], gradients: [[Float]], buffers: [[Float]]
    }

    /// Two views through the encoder (as the query encoder sees the normal and the extreme view),
    /// both backwards accumulating into the parameters; `first` is the first sample of the part.
    func runEncoder(_ e: STGCN, samples n: Int, first: Int, wholeSamples: Int, dropout: DropoutKeys) throws -> EncoderResult {
        let device = e.device
        let frames = 12, persons = 2
        var output: [Float] = [], dInput: [Float] = []
        e.zeroGradients()
        // Both forwards before both backwards, as a training step runs its views.
        var contexts: [STGCN.Context] = [], gradients: [Tensor] = []
        for view in 0 ..< 2 {
            let ctx = try e.makeContext(samples: n, frames: frames, persons: persons)
            let perSample = ctx.geometry.count / n
            let x = TestSupport.uniform(count: wholeSamples * perSample, lo: -1, hi: 1, seed: 40, stream: UInt32(view))
                .enumerated().map { i, v in v + 0.5 * Float((i / 7) % 3) }
            Array(x[(first * perSample) ..< ((first + n) * perSample)])
                .withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
            let d = TestSupport.uniform(count: wholeSamples * 3, lo: -1, hi: 1, seed: 41, stream: UInt32(view))
            gradients.append(try device.tensor(Array(d[(first * 3) ..< ((first + n) * 3)]), shape: [n, 3]))
            var keys = dropout
            keys.site = UInt32(view)
            try e.forward(ctx.input, context: ctx, training: true, dropout: keys)
            output += device.read(ctx.output)
            contexts.append(ctx)
        }
        for view in 0 ..< 2 {
            dInput += device.read(try e.backward(context: contexts[view], dOutput: gradients[view]))
        }
        try device.checkErrors()
        return EncoderResult(output: output, dInput: dInput, gradients: e.parameters.map { device.read($0.gradient) },
                             buffers: e.buffers.map { device.read($0.value) })
    }

    /// The encoder on `ranks` parts of 6 samples against one encoder on all 6.
    func checkEncoder(_ backend: Backend, ranks: Int, dropout: Float = 0, frameMajor: Bool = false) throws {
        let n = 6, part = n / ranks
        let keys = DropoutKeys(seed: 42, encoder: 1, site: 0, step: 7)
        let reference = try runEncoder(try smallEncoder(device: try makeDevice(backend), dropout: dropout, frameMajor: frameMajor),
                                       samples: n, first: 0, wholeSamples: n, dropout: keys)
        let group = ThreadRanks(size: ranks)
        let encoders = try (0 ..< ranks).map { r -> STGCN in
            let e = try smallEncoder(device: try makeDevice(backend), dropout: dropout, frameMajor: frameMajor)
            try e.synchronizeBatchNorm(over: group.collectives[r])
            e.batchPart = (r * part, n)
            return e
        }
        let parts = try group.run { r, _ in
            try self.runEncoder(encoders[r], samples: part, first: r * part, wholeSamples: n, dropout: keys)
        }
        let tag = "\(backend), \(ranks) ranks, dropout \(dropout)\(frameMajor ? ", frame-major" : "")"
        // Outputs and input gradients: view 0 of every rank, then view 1 of every rank.
        func views(_ f: (EncoderResult) -> [Float]) -> [Float] {
            (0 ..< 2).flatMap { v in parts.flatMap { p -> [Float] in let all = f(p); let h = all.count / 2
                return Array(all[(v * h) ..< ((v + 1) * h)]) } }
        }
        assertMatches(views(\.output), reference.output, "output (\(tag))")
        assertMatches(views(\.dInput), reference.dInput, "input gradient (\(tag))")
        let names = encoders[0].parameters.map(\.name)
        for (i, g) in reference.gradients.enumerated() {
            let summed = (0 ..< g.count).map { j in parts.reduce(Float(0)) { $0 + $1.gradients[i][j] } }
            // A conv bias right before a training-mode BN has no true gradient: both sides hold
            // rounding noise, measured against the neighbouring weight's gradient scale.
            if names[i].hasSuffix(".bias") && g.count > 0, i > 0, !names[i].contains("bn"),
               Double(g.map { abs($0) }.max() ?? 0) < 1e-4 * Double(reference.gradients[i - 1].map { abs($0) }.max() ?? 1) {
                continue
            }
            assertMatches(summed, g, "gradient of \(names[i]) (\(tag))")
        }
        for (i, b) in reference.buffers.enumerated() {
            for p in parts { assertMatches(p.buffers[i], b, "\(encoders[0].buffers[i].name) (\(tag))") }
        }
    }

    func testEncoderOnTwoRanksEqualsWholeBatchCPU() throws {
        try checkEncoder(.cpu, ranks: 2)
        try checkEncoder(.cpu, ranks: 3)
    }

    func testEncoderOnTwoRanksEqualsWholeBatchOpenCL() throws {
        try checkEncoder(.openCL, ranks: 2)
        try checkEncoder(.openCL, ranks: 3, dropout: 0.5)
    }

    /// Dropout masks keyed by the global element (`STGCN.batchPart`): the split draws the whole
    /// batch's masks, in the sample-major and in the frame-major layout.
    func testEncoderWithDropoutOnRanksEqualsWholeBatchCPU() throws {
        try checkEncoder(.cpu, ranks: 2, dropout: 0.5)
        try checkEncoder(.cpu, ranks: 3, dropout: 0.5)
        try checkEncoder(.cpu, ranks: 2, dropout: 0.5, frameMajor: true)
    }
}
