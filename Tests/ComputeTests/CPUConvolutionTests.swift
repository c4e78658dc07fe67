import XCTest
import Compute
import CPUBackend

/// Convolutions against `Ref` (PyTorch layout, Double) and against finite differences of
/// the Double reference.
///
/// Tolerances: forward sums have ≤ 36 float products of O(1) terms → abs 1e-4 + rel 1e-4.
/// Gradients sum up to N·T·V = 1300 float products → abs 1e-3 + rel 1e-3. The finite
/// differences are central, in Double, on ops that are affine in the perturbed input, so
/// their own error is ~1e-9 and the float backend dominates.
final class CPUConvolutionTests: XCTestCase {
    let device = CPUDevice(threads: 2)

    // MARK: 1x1 convolution

    func testConv1x1Stride1() throws { try checkConv1x1(n: 4, cin: 5, cout: 6, t: 12, v: 25, stride: 1) }
    func testConv1x1Stride2OddFrames() throws { try checkConv1x1(n: 4, cin: 5, cout: 6, t: 13, v: 25, stride: 2) }
    func testConv1x1Stride2T25() throws { try checkConv1x1(n: 2, cin: 3, cout: 4, t: 25, v: 25, stride: 2) }

    private func checkConv1x1(n: Int, cin: Int, cout: Int, t: Int, v: Int, stride: Int) throws {
        var rng = RefRandom(seed: UInt64(100 + t * 10 + stride))
        let x = rng.values(n * cin * t * v), w = rng.values(cout * cin), b = rng.values(cout)
        let (yRef, tOut) = Ref.temporalConv(x, n: n, cin: cin, t: t, v: v, weight: w, bias: b,
                                            cout: cout, kernel: 1, stride: stride)
        XCTAssertEqual(tOut, (t - 1) / stride + 1)
        let shape = ActivationShape(channels: cin, batch: n, frames: t, joints: v)
        let xt = try device.tensor(Ref.toChannelMajor(x, n: n, c: cin, t: t, v: v), [cin, n, t, v])
        let wt = try device.tensor(w, [cout, cin, 1, 1]), bt = try device.tensor(b, [cout])
        let yt = try device.makeTensor([cout, n, tOut, v])
        device.conv1x1Forward(x: xt, input: shape, stride: stride, weight: wt, bias: bt, y: yt)
        assertClose(device.read(yt), Ref.toChannelMajor(yRef, n: n, c: cout, t: tOut, v: v), abs: 1e-4, rel: 1e-4,
                    "conv1x1 forward s\(stride)")

        let dy = rng.values(n * cout * tOut * v)
        let ref = Ref.temporalConvBackward(x, n: n, cin: cin, t: t, v: v, weight: w, cout: cout,
                                           kernel: 1, stride: stride, dy: dy)
        let dyt = try device.tensor(Ref.toChannelMajor(dy, n: n, c: cout, t: tOut, v: v), [cout, n, tOut, v])
        let prior = rng.values(x.count)
        let dxt = try device.tensor(prior, [cin, n, t, v])
        let dwt = try device.makeTensor([cout, cin]), dbt = try device.makeTensor([cout])
        device.conv1x1Backward(x: xt, input: shape, stride: stride, weight: wt, dy: dyt, dx: dxt,
                               accumulate: false, dWeight: dwt, dBias: dbt)
        let dxCM = Ref.toChannelMajor(ref.dx, n: n, c: cin, t: t, v: v)
        assertClose(device.read(dxt), dxCM, abs: 1e-4, rel: 1e-4, "conv1x1 dx s\(stride)")
        assertClose(device.read(dwt), ref.dW, abs: 1e-3, rel: 1e-3, "conv1x1 dW s\(stride)")
        assertClose(device.read(dbt), ref.db, abs: 1e-3, rel: 1e-3, "conv1x1 db s\(stride)")

        // Accumulating adds onto what dx held, skipped frames included.
        device.write(prior, to: dxt)
        device.conv1x1Backward(x: xt, input: shape, stride: stride, weight: wt, dy: dyt, dx: dxt,
                               accumulate: true, dWeight: dwt, dBias: dbt)
        assertClose(device.read(dxt), zip(prior, dxCM).map { $0 + $1 }, abs: 1e-4, rel: 1e-4,
                    "conv1x1 dx accumulate s\(stride)")

        // Finite differences of the Double reference.
        let loss = { (xx: [Double], ww: [Double], bb: [Double]) -> Double in
            dotLoss(Ref.temporalConv(xx, n: n, cin: cin, t: t, v: v, weight: ww, bias: bb, cout: cout,
                                     kernel: 1, stride: stride).y, dy)
        }
        let xi = sampleIndices(x.count, 25, rng: &rng)
        let fdx = numericalGradient(at: x, indices: xi) { loss($0, w, b) }
        assertClose(xi.map { Float(dxCM[Ref.toChannelMajorIndex($0, n: n, c: cin, t: t, v: v)]) }, fdx,
                    abs: 1e-3, rel: 1e-3, "conv1x1 reference dx vs finite differences")
        let devDx = device.read(dxt).enumerated().map { $0.element - Float(prior[$0.offset]) }
        assertClose(xi.map { devDx[Ref.toChannelMajorIndex($0, n: n, c: cin, t: t, v: v)] }, fdx,
                    abs: 1e-3, rel: 1e-3, "conv1x1 dx vs finite differences")
        let wi = Array(0 ..< w.count)
        assertClose(device.read(dwt), numericalGradient(at: w, indices: wi) { loss(x, $0, b) },
                    abs: 1e-3, rel: 1e-3, "conv1x1 dW vs finite differences")
        assertClose(device.read(dbt), numericalGradient(at: b, indices: Array(0 ..< cout)) { loss(x, w, $0) },
                    abs: 1e-3, rel: 1e-3, "conv1x1 db vs finite differences")
    }

    // MARK: Temporal convolution

    func testTemporalConvStride1() throws { try checkTemporalConv(n: 4, cin: 4, cout: 6, t: 12, v: 25, kernel: 9, stride: 1) }
    func testTemporalConvStride2OddFrames() throws {
        try checkTemporalConv(n: 4, cin: 4, cout: 6, t: 13, v: 25, kernel: 9, stride: 2)
    }
    func testTemporalConvStride2T25() throws { try checkTemporalConv(n: 2, cin: 3, cout: 4, t: 25, v: 25, kernel: 9, stride: 2) }
    func testTemporalConvKernel3() throws { try checkTemporalConv(n: 3, cin: 2, cout: 3, t: 8, v: 5, kernel: 3, stride: 1) }

    /// Blocks of one sample, and blocks of three samples over four (a short last block).
    func testTemporalConvInSampleBlocks() throws {
        try checkTemporalConv(n: 4, cin: 4, cout: 6, t: 13, v: 25, kernel: 9, stride: 2,
                              blocking: TemporalBlocking(targetFloats: 1, minimumColumns: 1))
        try checkTemporalConv(n: 4, cin: 4, cout: 6, t: 12, v: 25, kernel: 9, stride: 1,
                              blocking: TemporalBlocking(targetFloats: 3 * 36 * 12 * 25, minimumColumns: 1))
        // Three samples from the minimum width alone.
        try checkTemporalConv(n: 4, cin: 4, cout: 6, t: 12, v: 25, kernel: 9, stride: 1,
                              blocking: TemporalBlocking(targetFloats: 1, minimumColumns: 2 * 12 * 25 + 1))
        // A layer run as one block whose column gradient is folded back one sample, then two
        // samples (with a short last slice) at a time.
        try checkTemporalConv(n: 5, cin: 4, cout: 6, t: 13, v: 25, kernel: 9, stride: 2,
                              blocking: TemporalBlocking(maximumOutputChannels: 0, wideScratchFloats: 1))
        try checkTemporalConv(n: 5, cin: 4, cout: 6, t: 12, v: 25, kernel: 9, stride: 1,
                              blocking: TemporalBlocking(maximumOutputChannels: 0, wideScratchFloats: 36 * 2 * 12 * 25))
    }

    private func checkTemporalConv(n: Int, cin: Int, cout: Int, t: Int, v: Int, kernel: Int, stride: Int,
                                   blocking: TemporalBlocking? = nil) throws {
        // With the forward's columns kept for the backward, streamed (rebuilt in the backward),
        // and as direct kernels on every path this CPU runs.
        try checkTemporalConv(n: n, cin: cin, cout: cout, t: t, v: v, kernel: kernel, stride: stride,
                              blocking: blocking, stored: true, direct: false)
        try checkTemporalConv(n: n, cin: cin, cout: cout, t: t, v: v, kernel: kernel, stride: stride,
                              blocking: blocking, stored: false, direct: false)
        if stride == 1 {
            try CPUKernelPath.forEachSupported { _ in
                try checkTemporalConv(n: n, cin: cin, cout: cout, t: t, v: v, kernel: kernel, stride: stride,
                                      blocking: blocking, stored: false, direct: true)
            }
        }
    }

    /// The direct kernels' edges on every path this CPU runs: output channels not a multiple of
    /// the channel tile (8 on AVX-512, 4 on AVX2) or of the gradient tile (3 rows; 2 rows × 5 taps), planes shorter
    /// than the padding and not a multiple of the position tile (48, 16), every supported kernel
    /// size, one thread and two, several cache blocks.
    func testDirectTemporalConvEdges() throws {
        try CPUKernelPath.forEachSupported { _ in try checkDirectTemporalConvEdges() }
    }

    private func checkDirectTemporalConvEdges() throws {
        for (n, cin, cout, t, v, kernel) in [(3, 5, 11, 7, 7, 9), (2, 9, 17, 3, 5, 9), (5, 16, 16, 13, 25, 9),
                                             (1, 3, 1, 40, 3, 7), (4, 2, 8, 6, 4, 5), (3, 7, 10, 5, 25, 3),
                                             (2, 4, 3, 9, 6, 1)] {
            try checkTemporalConv(n: n, cin: cin, cout: cout, t: t, v: v, kernel: kernel, stride: 1,
                                  blocking: nil, stored: false, direct: true)
        }
        try checkTemporalConv(n: 3, cin: 5, cout: 11, t: 7, v: 7, kernel: 9, stride: 1,
                              blocking: nil, stored: false, direct: true, threads: 1)
        // The weight gradient summed over several cache blocks of samples (one sample each).
        try checkTemporalConv(n: 5, cin: 5, cout: 7, t: 12, v: 25, kernel: 9, stride: 1,
                              blocking: nil, stored: false, direct: true, threads: 1, gradientBlockBytes: 1)
    }

    /// Wide layers' forward as shifted GEMMs (every layer counts as wide here): planes shorter
    /// than the kernel, kernel sizes 9, 3 and 1, one thread and two. With fewer sequences than
    /// threads (a frame-major view) the backward is shifted GEMMs too.
    func testShiftedGEMMs() throws {
        for (n, cin, cout, t, v, kernel, threads) in [(3, 5, 6, 12, 25, 9, 2), (2, 4, 3, 3, 5, 9, 2),
                                                      (3, 3, 7, 8, 5, 3, 1), (2, 6, 4, 5, 4, 1, 2),
                                                      (1, 5, 6, 12, 50, 9, 2), (1, 4, 3, 3, 10, 9, 2),
                                                      (2, 3, 7, 8, 5, 3, 4)] {
            try checkTemporalConv(n: n, cin: cin, cout: cout, t: t, v: v, kernel: kernel, stride: 1,
                                  blocking: nil, stored: false, direct: false, threads: threads, shiftedAbove: 2)
        }
    }

    /// The DFT-domain path of frame-major views (every layer counts as wide and every view as
    /// frame-major here): 13 and 25 frames as in blocks 6-10, an even minimum length (12 + 9 − 1),
    /// fewer frames than taps, kernels 9, 5 and 3, several windows per frame with a short last
    /// one, one thread and two, one sequence and several, Cin ≠ Cout both ways.
    /// The time transforms are vector kernels: every path this CPU runs, windows wider than their
    /// register tiles (2 rows × 32 or 64 positions) with ragged ends.
    func testSpectralTemporalConv() throws {
        try CPUKernelPath.forEachSupported { _ in
            for (n, cin, cout, t, v, kernel, threads) in [(1, 5, 6, 13, 30, 9, 2), (1, 4, 3, 25, 20, 9, 2),
                                                          (2, 3, 5, 12, 9, 9, 2), (1, 6, 4, 3, 17, 9, 1),
                                                          (1, 3, 3, 8, 11, 5, 2), (3, 4, 4, 6, 8, 3, 2),
                                                          (1, 3, 5, 13, 150, 9, 2)] {
                try checkTemporalConv(n: n, cin: cin, cout: cout, t: t, v: v, kernel: kernel, stride: 1, blocking: nil,
                                      stored: false, direct: false, threads: threads, spectral: true,
                                      spectralWindow: v > 100 ? 75 : 7)
            }
        }
    }

    private func checkTemporalConv(n: Int, cin: Int, cout: Int, t: Int, v: Int, kernel: Int, stride: Int,
                                   blocking: TemporalBlocking?, stored: Bool, direct: Bool, threads: Int = 2,
                                   gradientBlockBytes: Int = 1 << 20, shiftedAbove: Int? = nil,
                                   spectral: Bool = false, spectralWindow: Int = 7) throws {
        let device = CPUDevice(threads: threads)
        if let blocking { device.temporalBlocking = blocking }
        device.directTemporalConvolution = DirectTemporalConvolution(enabled: direct, gradientBlockBytes: gradientBlockBytes)
        let shape = ActivationShape(channels: cin, batch: n, frames: t, joints: v)
        device.spectralTemporalConv = spectral
        if spectral {
            device.directTemporalConvolution.maximumChannels = 2
            device.spectralMinimumPositions = 1
            device.spectralWindowColumns = spectralWindow
            device.spectralSlabsPerFrequency = 3
            XCTAssertTrue(device.usesSpectralTemporalConv(stride: stride, kernel: kernel, input: shape, outputChannels: cout))
        }
        if let shiftedAbove {
            device.directTemporalConvolution.maximumChannels = shiftedAbove
            // Several windows per plane on a frame-major view, the last one partial.
            device.shiftedWindowColumns = 37
            XCTAssertTrue(device.usesShiftedGEMMs(stride: stride, input: shape, outputChannels: cout))
            XCTAssertEqual(device.usesShiftedBackward(stride: stride, input: shape, outputChannels: cout), n < threads)
        } else if !spectral {
            // The im2col variants must not take the shifted path (the test shapes are narrow).
            XCTAssertFalse(device.usesShiftedGEMMs(stride: stride, input: shape, outputChannels: cout))
        }
        if direct {
            XCTAssertTrue(device.directTemporalConvolution.applies(stride: stride, kernel: kernel, input: shape,
                                                                   outputChannels: cout))
        }
        var rng = RefRandom(seed: UInt64(200 + t * 10 + stride + kernel))
        let x = rng.values(n * cin * t * v), w = rng.values(cout * cin * kernel), b = rng.values(cout)
        let (yRef, tOut) = Ref.temporalConv(x, n: n, cin: cin, t: t, v: v, weight: w, bias: b,
                                            cout: cout, kernel: kernel, stride: stride)
        let xt = try device.tensor(Ref.toChannelMajor(x, n: n, c: cin, t: t, v: v), [cin, n, t, v])
        let wt = try device.tensor(w, [cout, cin, kernel, 1]), bt = try device.tensor(b, [cout])
        let cols: Tensor? = stored ? try device.makeTensor([cin * kernel, n * tOut * v]) : nil
        let yt = try device.makeTensor([cout, n, tOut, v])
        device.temporalConvForward(x: xt, input: shape, kernel: kernel, stride: stride, weight: wt, bias: bt,
                                   columns: cols, y: yt)
        assertClose(device.read(yt), Ref.toChannelMajor(yRef, n: n, c: cout, t: tOut, v: v), abs: 1e-4, rel: 1e-4,
                    "temporal conv forward k\(kernel) s\(stride) T\(t) V\(v) \(cin)->\(cout) direct \(direct)")

        let dy = rng.values(n * cout * tOut * v)
        let ref = Ref.temporalConvBackward(x, n: n, cin: cin, t: t, v: v, weight: w, cout: cout,
                                           kernel: kernel, stride: stride, dy: dy)
        let dyt = try device.tensor(Ref.toChannelMajor(dy, n: n, c: cout, t: tOut, v: v), [cout, n, tOut, v])
        let prior = rng.values(x.count)
        let dxt = try device.tensor(prior, [cin, n, t, v])
        let dwt = try device.makeTensor([cout, cin, kernel, 1]), dbt = try device.makeTensor([cout])
        device.temporalConvBackward(x: xt, input: shape, kernel: kernel, stride: stride, weight: wt, columns: cols,
                                    dy: dyt, dx: dxt, accumulate: false, dWeight: dwt, dBias: dbt)
        let dxCM = Ref.toChannelMajor(ref.dx, n: n, c: cin, t: t, v: v)
        assertClose(device.read(dxt), dxCM, abs: 1e-4, rel: 1e-4, "temporal conv dx")
        assertClose(device.read(dwt), ref.dW, abs: 1e-3, rel: 1e-3, "temporal conv dW")
        assertClose(device.read(dbt), ref.db, abs: 1e-3, rel: 1e-3, "temporal conv db")

        device.write(prior, to: dxt)
        device.temporalConvBackward(x: xt, input: shape, kernel: kernel, stride: stride, weight: wt, columns: cols,
                                    dy: dyt, dx: dxt, accumulate: true, dWeight: dwt, dBias: dbt)
        assertClose(device.read(dxt), zip(prior, dxCM).map { $0 + $1 }, abs: 1e-4, rel: 1e-4,
                    "temporal conv dx accumulate")
        // Without dx only the parameter gradients are produced.
        device.temporalConvBackward(x: xt, input: shape, kernel: kernel, stride: stride, weight: wt, columns: cols,
                                    dy: dyt, dx: nil, accumulate: false, dWeight: dwt, dBias: dbt)
        assertClose(device.read(dwt), ref.dW, abs: 1e-3, rel: 1e-3, "temporal conv dW without dx")

        let loss = { (xx: [Double], ww: [Double], bb: [Double]) -> Double in
            dotLoss(Ref.temporalConv(xx, n: n, cin: cin, t: t, v: v, weight: ww, bias: bb, cout: cout,
                                     kernel: kernel, stride: stride).y, dy)
        }
        let xi = sampleIndices(x.count, 20, rng: &rng)
        assertClose(xi.map { Float(dxCM[Ref.toChannelMajorIndex($0, n: n, c: cin, t: t, v: v)]) },
                    numericalGradient(at: x, indices: xi) { loss($0, w, b) },
                    abs: 1e-3, rel: 1e-3, "temporal conv dx vs finite differences")
        let wi = sampleIndices(w.count, 20, rng: &rng)
        let dW = device.read(dwt)
        assertClose(wi.map { dW[$0] }, numericalGradient(at: w, indices: wi) { loss(x, $0, b) },
                    abs: 1e-3, rel: 1e-3, "temporal conv dW vs finite differences")
        assertClose(device.read(dbt), numericalGradient(at: b, indices: Array(0 ..< cout)) { loss(x, w, $0) },
                    abs: 1e-3, rel: 1e-3, "temporal conv db vs finite differences")
    }

    // MARK: Graph convolution

    /// A widening layer mixes before its 1×1 convolution, the others after: both against the reference.
    /// Each with OpenBLAS and with the adjacency kernels on every path this CPU runs.
    func testGraphConvMixingFirst() throws { try checkGraphConvBothWays(cin: 4, cout: 5) }
    func testGraphConvMixingLast() throws { try checkGraphConvBothWays(cin: 6, cout: 5) }

    /// The adjacency kernels' edges on every path this CPU runs: joint counts below one vector
    /// and between vectors, row counts not a multiple of the row tile, ∂L/∂Â summed over two
    /// workers' rows and over several 256-row chunks per worker.
    func testGraphConvAdjacencyKernelEdges() throws {
        try CPUKernelPath.forEachSupported { _ in try checkGraphConvAdjacencyKernelEdges() }
    }

    private func checkGraphConvAdjacencyKernelEdges() throws {
        for (cin, cout, t, v) in [(4, 5, 7, 7), (6, 5, 4, 18), (2, 7, 5, 16), (5, 4, 5, 32), (6, 5, 30, 7), (4, 5, 33, 7)] {
            try checkGraphConv(cin: cin, cout: cout, t: t, v: v, kernels: true)
        }
        // A layer that does not widen takes its backward in pieces of positions: pieces of one
        // row and of three (the last one partial), spread over both workers.
        for pieceRows in [1, 3] {
            try checkGraphConv(cin: 6, cout: 5, t: 7, v: 25, kernels: true, pieceFloats: 3 * 5 * 25 * pieceRows + 7)
        }
    }

    private func checkGraphConvBothWays(cin: Int, cout: Int) throws {
        try checkGraphConv(cin: cin, cout: cout, kernels: false)
        try CPUKernelPath.forEachSupported { _ in try checkGraphConv(cin: cin, cout: cout, kernels: true) }
    }

    private func checkGraphConv(cin: Int, cout: Int, t: Int = 8, v: Int = 25, kernels: Bool,
                                pieceFloats: Int? = nil) throws {
        let n = 4, k = 3
        let device = CPUDevice(threads: 2)
        device.graphKernels = GraphAdjacencyKernels(enabled: kernels, minimumRowsPerWorker: 7)
        if let pieceFloats { device.graphPieceFloats = pieceFloats }
        XCTAssertEqual(device.graphKernels.applies(joints: v), kernels)
        var rng = RefRandom(seed: 300)
        let x = rng.values(n * cin * t * v), w = rng.values(k * cout * cin), b = rng.values(k * cout)
        // A sparse-ish normalised adjacency and an importance around 1, as in ST-GCN.
        let a = (0 ..< k * v * v).map { _ in rng.uniform(0, 1) < 0.2 ? Double(Float(rng.uniform(0, 0.5))) : 0 }
        let e = rng.values(k * v * v, 0.5, 1.5)
        let yRef = Ref.graphConv(x, n: n, cin: cin, t: t, v: v, weight: w, bias: b, k: k, cout: cout, a: a, e: e)

        let shape = ActivationShape(channels: cin, batch: n, frames: t, joints: v)
        let xt = try device.tensor(Ref.toChannelMajor(x, n: n, c: cin, t: t, v: v), [cin, n, t, v])
        let wt = try device.tensor(w, [k * cout, cin, 1, 1]), bt = try device.tensor(b, [k * cout])
        let at = try device.tensor(a, [k, v, v]), et = try device.tensor(e, [k, v, v])
        let zt = try device.makeTensor([k * cout, n, t, v]), yt = try device.makeTensor([cout, n, t, v])
        device.graphConvForward(x: xt, input: shape, weight: wt, bias: bt, adjacency: at, importance: et, z: zt, y: yt)
        assertClose(device.read(yt), Ref.toChannelMajor(yRef, n: n, c: cout, t: t, v: v), abs: 1e-4, rel: 1e-4,
                    "graph conv forward V\(v) \(cin)->\(cout) kernels \(kernels) pieces \(pieceFloats ?? 0)")

        // Reference backward, derived by hand from the einsum.
        let dy = rng.values(yRef.count)
        let (z, _) = Ref.temporalConv(x, n: n, cin: cin, t: t, v: v, weight: w, bias: b, cout: k * cout,
                                      kernel: 1, stride: 1)
        var dz = [Double](repeating: 0, count: z.count)
        var dAhat = [Double](repeating: 0, count: k * v * v)
        for bb in 0 ..< n { for p in 0 ..< k { for c in 0 ..< cout { for ti in 0 ..< t {
            for i in 0 ..< v { for j in 0 ..< v {
                let g = dy[Ref.idx(bb, c, ti, j, c: cout, t: t, v: v)]
                let zi = Ref.idx(bb, p * cout + c, ti, i, c: k * cout, t: t, v: v)
                dz[zi] += g * a[(p * v + i) * v + j] * e[(p * v + i) * v + j]
                dAhat[(p * v + i) * v + j] += z[zi] * g
            } }
        } } } }
        let dE = zip(dAhat, a).map { $0 * $1 }
        let conv = Ref.temporalConvBackward(x, n: n, cin: cin, t: t, v: v, weight: w, cout: k * cout,
                                            kernel: 1, stride: 1, dy: dz)

        let dyt = try device.tensor(Ref.toChannelMajor(dy, n: n, c: cout, t: t, v: v), [cout, n, t, v])
        let dzt = try device.makeTensor([k * cout, n, t, v])
        let prior = rng.values(x.count)
        let dxt = try device.tensor(prior, [cin, n, t, v])
        let dwt = try device.makeTensor([k * cout, cin]), dbt = try device.makeTensor([k * cout])
        let det = try device.makeTensor([k, v, v])
        device.graphConvBackward(x: xt, input: shape, weight: wt, adjacency: at, importance: et, z: zt, dy: dyt,
                                 dz: dzt, dx: dxt, accumulate: false, dWeight: dwt, dBias: dbt, dImportance: det)
        let dxCM = Ref.toChannelMajor(conv.dx, n: n, c: cin, t: t, v: v)
        assertClose(device.read(dxt), dxCM, abs: 1e-4, rel: 1e-4, "graph conv dx")
        assertClose(device.read(dwt), conv.dW, abs: 1e-3, rel: 1e-3, "graph conv dW")
        assertClose(device.read(dbt), conv.db, abs: 1e-3, rel: 1e-3, "graph conv db")
        assertClose(device.read(det), dE, abs: 1e-3, rel: 1e-3, "graph conv dImportance")

        device.write(prior, to: dxt)
        device.graphConvBackward(x: xt, input: shape, weight: wt, adjacency: at, importance: et, z: zt, dy: dyt,
                                 dz: dzt, dx: dxt, accumulate: true, dWeight: dwt, dBias: dbt, dImportance: det)
        assertClose(device.read(dxt), zip(prior, dxCM).map { $0 + $1 }, abs: 1e-4, rel: 1e-4,
                    "graph conv dx accumulate")

        let loss = { (xx: [Double], ww: [Double], bb: [Double], ee: [Double]) -> Double in
            dotLoss(Ref.graphConv(xx, n: n, cin: cin, t: t, v: v, weight: ww, bias: bb, k: k, cout: cout,
                                  a: a, e: ee), dy)
        }
        let xi = sampleIndices(x.count, 12, rng: &rng)
        let devDx = device.read(dxt).enumerated().map { $0.element - Float(prior[$0.offset]) }
        assertClose(xi.map { devDx[Ref.toChannelMajorIndex($0, n: n, c: cin, t: t, v: v)] },
                    numericalGradient(at: x, indices: xi) { loss($0, w, b, e) },
                    abs: 1e-3, rel: 1e-3, "graph conv dx vs finite differences")
        let wi = sampleIndices(w.count, 12, rng: &rng)
        let dW = device.read(dwt)
        assertClose(wi.map { dW[$0] }, numericalGradient(at: w, indices: wi) { loss(x, $0, b, e) },
                    abs: 1e-3, rel: 1e-3, "graph conv dW vs finite differences")
        let bi = sampleIndices(b.count, 6, rng: &rng)
        let dB = device.read(dbt)
        assertClose(bi.map { dB[$0] }, numericalGradient(at: b, indices: bi) { loss(x, w, $0, e) },
                    abs: 1e-3, rel: 1e-3, "graph conv db vs finite differences")
        // Importance entries on edges (elsewhere A = 0 and the gradient is exactly 0).
        let edges = a.indices.filter { a[$0] != 0 }
        let ei = sampleIndices(edges.count, 12, rng: &rng).map { edges[$0] } + [a.firstIndex(of: 0)!]
        let dEd = device.read(det)
        assertClose(ei.map { dEd[$0] }, numericalGradient(at: e, indices: ei) { loss(x, w, b, $0) },
                    abs: 1e-3, rel: 1e-3, "graph conv dImportance vs finite differences")
    }
}

extension Ref {
    /// Where element `i` of an (N, C, T, V) array sits in the (C, N, T, V) layout.
    static func toChannelMajorIndex(_ i: Int, n: Int, c: Int, t: Int, v: Int) -> Int {
        let j = i % v, ti = (i / v) % t, ch = (i / (v * t)) % c, b = i / (v * t * c)
        return ((ch * n + b) * t + ti) * v + j
    }
}
