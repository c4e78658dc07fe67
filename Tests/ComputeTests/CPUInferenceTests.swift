import XCTest
import Compute
import CPUBackend

/// The forward-only ops (graph and temporal convolution with a fused epilogue, the epilogue pass,
/// the batch-norm affine map) against `Ref` in Double: conv, then y = act(s·v + t + rs·residual)
/// with s, t from the batch-norm formula. Tolerances as in `CPUConvolutionTests` (forward sums
/// of O(1) float products).
final class CPUInferenceTests: XCTestCase {
    /// A batch norm's parameters and running statistics, and its (scale, shift) in Double.
    private struct Normalization {
        var gamma: [Double], beta: [Double], mean: [Double], variance: [Double]
        init(channels c: Int, rng: inout RefRandom) {
            gamma = rng.values(c, 0.5, 1.5); beta = rng.values(c); mean = rng.values(c); variance = rng.values(c, 0.2, 2)
        }
        var scale: [Double] { zip(gamma, variance).map { $0 / ($1 + 1e-5).squareRoot() } }
        var shift: [Double] { zip(zip(beta, mean), scale).map { $0.0 - $0.1 * $1 } }

        /// The device's (scale, shift) tensors, computed by `batchNormInferenceAffine`.
        func affine(_ device: Device) throws -> (Tensor, Tensor) {
            let c = gamma.count
            let s = try device.makeTensor([c]), t = try device.makeTensor([c])
            device.batchNormInferenceAffine(gamma: try device.tensor(gamma, [c]), beta: try device.tensor(beta, [c]),
                                            runningMean: try device.tensor(mean, [c]),
                                            runningVar: try device.tensor(variance, [c]), epsilon: 1e-5,
                                            scale: s, shift: t)
            return (s, t)
        }
    }

    /// act(s[c]·v + t[c] + rs[c]·residual) over a channel-major (C, P) array.
    private func epilogue(_ v: [Double], channels: Int, scale: [Double], shift: [Double], residual: [Double]?,
                          residualScale: [Double]?, relu: Bool) -> [Double] {
        let p = v.count / channels
        return v.indices.map { i in
            let c = i / p
            var a = scale[c] * v[i] + shift[c]
            if let residual { a += (residualScale?[c] ?? 1) * residual[i] }
            return relu ? max(a, 0) : a
        }
    }

    func testBatchNormInferenceAffine() throws {
        let device = CPUDevice(threads: 2)
        var rng = RefRandom(seed: 900)
        let bn = Normalization(channels: 37, rng: &rng)
        let (s, t) = try bn.affine(device)
        assertClose(device.read(s), bn.scale, abs: 1e-6, rel: 1e-6, "inference scale")
        assertClose(device.read(t), bn.shift, abs: 1e-6, rel: 1e-6, "inference shift")
    }

    /// Every combination of residual / residual scale / ReLU, on the AVX-512 and the portable path,
    /// channel lengths that are not a multiple of the vector width, in place.
    func testApplyEpilogue() throws {
        let device = CPUDevice(threads: 2)
        var rng = RefRandom(seed: 901)
        let c = 5, p = 37
        let x = rng.values(c * p), r = rng.values(c * p)
        let s = rng.values(c, -2, 2), t = rng.values(c), rs = rng.values(c, -2, 2)
        try CPUKernelPath.forEachSupported { path in
            for (withResidual, withScale, relu) in [(false, false, true), (true, false, true), (true, true, false),
                                                    (true, true, true), (false, false, false)] {
                let xt = try device.tensor(x, [c, p])
                let e = ChannelEpilogue(scale: try device.tensor(s, [c]), shift: try device.tensor(t, [c]),
                                        residual: withResidual ? try device.tensor(r, [c, p]) : nil,
                                        residualScale: withScale ? try device.tensor(rs, [c]) : nil, relu: relu)
                device.applyEpilogue(e, x: xt, channels: c, y: xt)
                let want = epilogue(x, channels: c, scale: s, shift: t, residual: withResidual ? r : nil,
                                    residualScale: withScale ? rs : nil, relu: relu)
                assertClose(device.read(xt), want, abs: 1e-6, rel: 1e-6,
                            "epilogue residual \(withResidual) scale \(withScale) relu \(relu) path \(path)")
            }
        }
    }

    /// Both mixing orders, adjacency kernels on and off, pieces of one joint row and of several
    /// (the last one partial), one and two threads, with and without the epilogue.
    func testGraphConvInference() throws {
        for (cin, cout) in [(4, 6), (6, 5)] {
            // OpenBLAS, then the adjacency kernels on every path this CPU runs.
            for (chunk, threads) in [(1, 2), (3 * 6 * 25 * 3 + 7, 2), (1 << 17, 1)] {
                for withEpilogue in [true, false] {
                    try checkGraphConvInference(cin: cin, cout: cout, kernels: false, chunkFloats: chunk,
                                                threads: threads, withEpilogue: withEpilogue)
                    try CPUKernelPath.forEachSupported { _ in
                        try checkGraphConvInference(cin: cin, cout: cout, kernels: true, chunkFloats: chunk,
                                                    threads: threads, withEpilogue: withEpilogue)
                    }
                }
            }
        }
    }

    private func checkGraphConvInference(cin: Int, cout: Int, kernels: Bool, chunkFloats: Int, threads: Int,
                                         withEpilogue: Bool) throws {
        let n = 3, t = 7, v = 25, k = 3
        let device = CPUDevice(threads: threads)
        device.graphKernels = GraphAdjacencyKernels(enabled: kernels)
        device.graphPieceFloats = chunkFloats
        var rng = RefRandom(seed: UInt64(910 + cin))
        let x = rng.values(n * cin * t * v), w = rng.values(k * cout * cin), b = rng.values(k * cout)
        let a = (0 ..< k * v * v).map { _ in rng.uniform(0, 1) < 0.2 ? Double(Float(rng.uniform(0, 0.5))) : 0 }
        let e = rng.values(k * v * v, 0.5, 1.5)
        let bn = Normalization(channels: cout, rng: &rng)
        let conv = Ref.toChannelMajor(Ref.graphConv(x, n: n, cin: cin, t: t, v: v, weight: w, bias: b, k: k, cout: cout,
                                                    a: a, e: e), n: n, c: cout, t: t, v: v)
        let want = withEpilogue
            ? epilogue(conv, channels: cout, scale: bn.scale, shift: bn.shift, residual: nil, residualScale: nil, relu: true)
            : conv

        let shape = ActivationShape(channels: cin, batch: n, frames: t, joints: v)
        let xt = try device.tensor(Ref.toChannelMajor(x, n: n, c: cin, t: t, v: v), [cin, n, t, v])
        let (s, sh) = try bn.affine(device)
        let yt = try device.makeTensor([cout, n, t, v])
        device.graphConvInference(x: xt, input: shape, weight: try device.tensor(w, [k * cout, cin, 1, 1]),
                                  bias: try device.tensor(b, [k * cout]), adjacency: try device.tensor(a, [k, v, v]),
                                  importance: try device.tensor(e, [k, v, v]),
                                  epilogue: withEpilogue ? ChannelEpilogue(scale: s, shift: sh, relu: true) : nil, y: yt)
        assertClose(device.read(yt), want, abs: 1e-4, rel: 1e-4,
                    "graph conv inference \(cin)->\(cout) kernels \(kernels) chunk \(chunkFloats) threads \(threads) epilogue \(withEpilogue)")
    }

    /// The direct kernel's in-register epilogue (residual with and without its scale), the
    /// shifted-GEMM and im2col paths with the epilogue pass, stride 2, no epilogue.
    func testTemporalConvInference() throws {
        let cases: [(cin: Int, cout: Int, stride: Int, direct: Bool, residual: Bool, residualScale: Bool)] = [
            (5, 11, 1, true, true, true), (8, 8, 1, true, true, false), (6, 7, 1, true, false, false),
            (5, 11, 1, false, true, true), (6, 6, 2, false, true, false), (4, 9, 2, true, false, false),
        ]
        for c in cases {
            for withEpilogue in [true, false] {
                // The direct kernel on every path this CPU runs (its epilogue is in each path's registers).
                try CPUKernelPath.forEachSupported { _ in
                    try checkTemporalConvInference(cin: c.cin, cout: c.cout, stride: c.stride, direct: c.direct,
                                                   residual: c.residual, residualScale: c.residualScale,
                                                   withEpilogue: withEpilogue)
                }
            }
        }
        // The shifted-GEMM forward (every layer counts as wide) with the epilogue on each window:
        // one window per sequence, and a frame-major view (one sequence) cut into windows.
        for n in [3, 1] {
            try checkTemporalConvInference(n: n, cin: 5, cout: 6, stride: 1, direct: false, residual: true,
                                           residualScale: true, withEpilogue: true, shiftedAbove: 2)
        }
        // The DFT-domain forward of frame-major views, the epilogue per window.
        try CPUKernelPath.forEachSupported { _ in
            for residual in [true, false] {
                try checkTemporalConvInference(n: 1, cin: 5, cout: 6, stride: 1, direct: false, residual: residual,
                                               residualScale: residual, withEpilogue: true, shiftedAbove: 2, spectral: true)
            }
        }
    }

    private func checkTemporalConvInference(n: Int = 3, cin: Int, cout: Int, stride: Int, direct: Bool, residual: Bool,
                                            residualScale: Bool, withEpilogue: Bool, shiftedAbove: Int? = nil,
                                            spectral: Bool = false) throws {
        let t = 13, v = 25, kernel = 9
        let device = CPUDevice(threads: 2)
        device.directTemporalConvolution = DirectTemporalConvolution(enabled: direct)
        device.shiftedWindowColumns = 40
        device.spectralTemporalConv = spectral
        device.spectralMinimumPositions = 1
        device.spectralWindowColumns = 6
        device.spectralSlabsPerFrequency = 4
        if let shiftedAbove { device.directTemporalConvolution.maximumChannels = shiftedAbove }
        let shape = ActivationShape(channels: cin, batch: n, frames: t, joints: v)
        XCTAssertEqual(device.usesSpectralTemporalConv(stride: stride, kernel: kernel, input: shape, outputChannels: cout),
                       spectral && stride == 1 && !direct)
        XCTAssertEqual(device.directTemporalConvolution.applies(stride: stride, kernel: kernel, input: shape,
                                                                outputChannels: cout), direct && stride == 1)
        var rng = RefRandom(seed: UInt64(920 + cin * 10 + stride))
        let x = rng.values(n * cin * t * v), w = rng.values(cout * cin * kernel, -0.3, 0.3), b = rng.values(cout)
        let (yRef, tOut) = Ref.temporalConv(x, n: n, cin: cin, t: t, v: v, weight: w, bias: b, cout: cout,
                                            kernel: kernel, stride: stride)
        let conv = Ref.toChannelMajor(yRef, n: n, c: cout, t: tOut, v: v)
        let bn = Normalization(channels: cout, rng: &rng)
        let r = rng.values(conv.count), rs = rng.values(cout, -2, 2)
        let want = withEpilogue
            ? epilogue(conv, channels: cout, scale: bn.scale, shift: bn.shift, residual: residual ? r : nil,
                       residualScale: residualScale ? rs : nil, relu: true)
            : conv

        let (s, sh) = try bn.affine(device)
        let ep = ChannelEpilogue(scale: s, shift: sh, residual: residual ? try device.tensor(r, [conv.count]) : nil,
                                 residualScale: residualScale ? try device.tensor(rs, [cout]) : nil, relu: true)
        let yt = try device.makeTensor([cout, n, tOut, v])
        device.temporalConvInference(x: try device.tensor(Ref.toChannelMajor(x, n: n, c: cin, t: t, v: v), [cin, n, t, v]),
                                     input: shape, kernel: kernel, stride: stride,
                                     weight: try device.tensor(w, [cout, cin, kernel, 1]), bias: try device.tensor(b, [cout]),
                                     epilogue: withEpilogue ? ep : nil, y: yt)
        assertClose(device.read(yt), want, abs: 1e-4, rel: 1e-4,
                    "temporal conv inference \(cin)->\(cout) s\(stride) direct \(direct) residual \(residual)/\(residualScale) epilogue \(withEpilogue)")
    }
}
