import CPUKernels
import Compute

/// The stride-1 temporal convolution of wide layers on frame-major views, in the DFT domain along
/// time (`SpectralBasis`): per window of positions, the input's J = 2F + 1 real components come
/// from one small GEMM per channel, the channel mixing is one GEMM per frequency (DC: Cout × Cin;
/// f ≥ 1: the 2·Cout × 2·Cin block of the complex product), and the output frames come back by one
/// small GEMM per channel. On block 10's 13 frames that is 41 units of Cout·Cin per position for
/// the direct form's 97 valid tap-frames (117 with im2col), on the 25-frame blocks 65 for 205; the
/// backward is the adjoint of each step, with dŴ = dŶ·X̂ᵀ per frequency. The result differs from
/// the direct sums by rounding only (the basis is exact to a float ulp; N ≤ 64 terms per sum).
///
/// The windows run one after another, every worker on each: the transforms and the channel
/// mixing split by positions (a worker's slice stays in its caches from X̂ to y), dŴ's GEMMs by
/// slabs of rows. So one window's spectra are the only scratch, dŴ needs no per-worker partials,
/// and its sums run in window order whatever the thread count.
extension CPUDevice {
    /// Whether a stride-1 temporal convolution runs in the DFT domain: an odd kernel longer than
    /// one tap, a layer too wide for the direct kernels, and a frame-major view (at least
    /// `spectralMinimumPositions` positions per frame, so that each GEMM is long).
    public func usesSpectralTemporalConv(stride: Int, kernel: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        spectralTemporalConv && stride == 1 && kernel > 1 && kernel % 2 == 1
            && min(input.channels, outputChannels) > directTemporalConvolution.maximumChannels
            && input.joints >= spectralMinimumPositions
    }

    /// Windows of positions (sequence, first, end) within each frame, about `spectralWindowColumns` wide.
    private func spectralWindows(_ input: ActivationShape) -> [(sequence: Int, first: Int, end: Int)] {
        let v = input.joints, width = max(8, spectralWindowColumns)
        let pieces = min(max(1, (v + width - 1) / width), v)
        return (0 ..< input.batch).flatMap { b in (0 ..< pieces).map { (b, v * $0 / pieces, v * ($0 + 1) / pieces) } }
    }

    /// Slabs of output rows of every frequency's gradient GEMM, (frequency, first row, end row): DC
    /// has `rows` rows, the others 2·`rows` (the stacked re and im parts). Whole frequencies while
    /// there are at least twice as many as workers (each GEMM then packs its operands once), else
    /// each cut into as many slabs as that takes.
    private func spectralSlabs(_ basis: SpectralBasis, rows: Int) -> [(f: Int, r0: Int, r1: Int)] {
        let frequencies = basis.frequencies + 1
        let pieces = spectralSlabsPerFrequency ?? max(1, (2 * threads + frequencies - 1) / frequencies)
        return (0 ..< frequencies).flatMap { f in
            let total = f == 0 ? rows : 2 * rows, count = min(max(1, pieces), total)
            return (0 ..< count).map { (f, total * $0 / count, total * ($0 + 1) / count) }
        }
    }

    /// Positions [first, end) of worker `w` of `workers` in a window of n.
    private func spectralSlice(_ w: Int, of workers: Int, n: Int) -> (first: Int, count: Int) {
        let first = n * w / workers
        return (first, n * (w + 1) / workers - first)
    }

    /// The channel mixing of every frequency at positions [c0, c0 + count) of a window of n:
    /// out_f = W_f·in_f, or W_fᵀ·in_f when `transposed` (the input gradient). W₀ is `rows` ×
    /// `columns` (Cout × Cin), B_f twice that.
    private func spectralMixing(_ basis: SpectralBasis, weights: UnsafePointer<Float>, transposed: Bool,
                                rows: Int, columns: Int, n: Int, c0: Int, count: Int,
                                from input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let (m, k) = transposed ? (columns, rows) : (rows, columns)
        for f in 0 ..< basis.frequencies + 1 {
            let scale = f == 0 ? 1 : 2, first = f == 0 ? 0 : 2 * f - 1
            let w = f == 0 ? weights : weights + basis.blockOffset(f, cout: rows, cin: columns)
            sgemm(transA: transposed, transB: false, m: scale * m, n: count, k: scale * k, alpha: 1, a: w,
                  lda: scale * columns, b: input + first * k * n + c0, ldb: n, beta: 0, c: out + first * m * n + c0, ldc: n)
        }
    }

    /// The spectra of `channels` channel planes of `x` (channel stride `cols`, frame stride v) at
    /// positions [c0, c0 + count) of a window of n starting `at` in each plane: spectra[q, ch, ·] =
    /// Σ_t matrix[q, t]·x[ch, t, ·], one small product per channel (`matrix` J × T).
    private func spectra(_ matrix: UnsafePointer<Float>?, components j: Int, frames t: Int, of x: UnsafePointer<Float>,
                         channels: Int, cols: Int, v: Int, at: Int, n: Int, c0: Int, count: Int,
                         into out: UnsafeMutablePointer<Float>) {
        for ch in 0 ..< channels {
            aimclr_small_matmul(matrix, j, t, x + ch * cols + at, v, out + ch * n + c0, channels * n, count, 0)
        }
    }

    /// y = conv(x) + bias, through `epilogue` when given (per slice, while it is in cache).
    func temporalConvForwardSpectral(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, bias: Tensor,
                                     epilogue: ChannelEpilogue? = nil, y: Tensor, cout: Int) {
        let cin = input.channels, t = input.frames, v = input.joints, cols = input.plane
        let basis = SpectralBasis(frames: t, kernel: kernel), j = basis.components
        let weights = packedWeightScratch.floats(basis.blockWeightCount(cout: cout, cin: cin))
        let windows = spectralWindows(input)
        let width = windows.map { $0.end - $0.first }.max() ?? 0, workers = min(threads, width)
        let xs = columnScratch.floats(j * (cin + cout) * width), ys = xs + j * cin * width
        let px = x.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure(epilogue == nil ? "temporalConvForward" : "temporalConvInference",
                flops: 2 * Double(cout * cin * kernel) * Double(cols)) {
            basis.transformWeights(weight.cpuPointer, cout: cout, cin: cin, into: weights)
            basis.analysis.withUnsafeBufferPointer { analysis in
                basis.synthesis.withUnsafeBufferPointer { synthesis in
                    withSingleThreadedBLAS {
                        for (b, v0, v1) in windows {
                            let n = v1 - v0
                            parallelChunks(workers, threads: workers) { worker, _ in
                                let (c0, count) = spectralSlice(worker, of: workers, n: n), at = b * t * v + v0 + c0
                                spectra(analysis.baseAddress, components: j, frames: t, of: px, channels: cin, cols: cols, v: v,
                                        at: at, n: n, c0: c0, count: count, into: xs)
                                spectralMixing(basis, weights: weights, transposed: false, rows: cout, columns: cin, n: n,
                                               c0: c0, count: count, from: xs, into: ys)
                                for o in 0 ..< cout {
                                    let row = py + o * cols + at
                                    for f in 0 ..< t { (row + f * v).update(repeating: pb[o], count: count) }
                                    aimclr_small_matmul(synthesis.baseAddress, t, j, ys + o * n + c0, cout * n, row, v, count, 1)
                                    guard let epilogue else { continue }
                                    for f in 0 ..< t {
                                        let e = o * cols + at + f * v
                                        epilogueRows(epilogue, channelLength: cols, range: e ..< e + count, from: py, into: py)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// dW, db and (when given) dx, as the adjoints of the forward's steps per window: dŶ from dy
    /// by the synthesis' transpose, dŴ_f += dŶ_f·X̂_fᵀ, dX̂_f = Ŵ_fᵀ·dŶ_f, dx from dX̂ by the
    /// analysis' transpose.
    func temporalConvBackwardSpectral(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, dy: Tensor,
                                      dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor, cout: Int) {
        let cin = input.channels, t = input.frames, v = input.joints, cols = input.plane
        let basis = SpectralBasis(frames: t, kernel: kernel), j = basis.components
        let weightCount = basis.blockWeightCount(cout: cout, cin: cin)
        let weights = packedWeightScratch.floats(weightCount)
        let windows = spectralWindows(input), slabs = spectralSlabs(basis, rows: cout)
        let width = windows.map { $0.end - $0.first }.max() ?? 0, workers = min(threads, width)
        let xs = columnScratch.floats(j * (cin + cout) * width + weightCount)
        let dys = xs + j * cin * width, dWeights = dys + j * cout * width
        let px = x.cpuPointer, pdy = dy.cpuPointer, pdx = dx?.cpuPointer
        measure("temporalConvBackward", flops: 2 * Double(cout * cin * kernel) * Double(cols) * (dx == nil ? 1 : 2)) {
            basis.transformWeights(weight.cpuPointer, cout: cout, cin: cin, into: weights)
            rowSums(pdy, rows: cout, cols: cols, into: dBias.cpuPointer, threads: threads)
            dWeights.update(repeating: 0, count: weightCount)
            basis.analysis.withUnsafeBufferPointer { analysis in
                basis.synthesisTransposed.withUnsafeBufferPointer { synthesisT in
                    basis.analysisTransposed.withUnsafeBufferPointer { analysisT in
                        withSingleThreadedBLAS {
                            for (b, v0, v1) in windows {
                                let n = v1 - v0
                                // X̂ of the input channels and dŶ of the output channels, per slice.
                                parallelChunks(workers, threads: workers) { worker, _ in
                                    let (c0, count) = spectralSlice(worker, of: workers, n: n), at = b * t * v + v0 + c0
                                    spectra(analysis.baseAddress, components: j, frames: t, of: px, channels: cin, cols: cols,
                                            v: v, at: at, n: n, c0: c0, count: count, into: xs)
                                    spectra(synthesisT.baseAddress, components: j, frames: t, of: pdy, channels: cout, cols: cols,
                                            v: v, at: at, n: n, c0: c0, count: count, into: dys)
                                }
                                // dŴ_f += dŶ_f·X̂_fᵀ over the whole window, each slab of rows owned by one worker.
                                parallelChunks(slabs.count, threads: threads) { _, items in
                                    for i in items {
                                        let (f, r0, r1) = slabs[i]
                                        let scale = f == 0 ? 1 : 2, first = f == 0 ? 0 : 2 * f - 1
                                        let dw = f == 0 ? dWeights : dWeights + basis.blockOffset(f, cout: cout, cin: cin)
                                        sgemm(transA: false, transB: true, m: r1 - r0, n: scale * cin, k: n, alpha: 1,
                                              a: dys + (first * cout + r0) * n, lda: n, b: xs + first * cin * n, ldb: n,
                                              beta: 1, c: dw + r0 * scale * cin, ldc: scale * cin)
                                    }
                                }
                                guard let pdx else { continue }
                                // dX̂ (in X̂'s space, which is spent) and dx, per slice.
                                parallelChunks(workers, threads: workers) { worker, _ in
                                    let (c0, count) = spectralSlice(worker, of: workers, n: n), at = b * t * v + v0 + c0
                                    spectralMixing(basis, weights: weights, transposed: true, rows: cout, columns: cin, n: n,
                                                   c0: c0, count: count, from: dys, into: xs)
                                    for ch in 0 ..< cin {
                                        aimclr_small_matmul(analysisT.baseAddress, t, j, xs + ch * n + c0, cin * n,
                                                            pdx + ch * cols + at, v, count, accumulate ? 1 : 0)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            basis.weightGradient(dWeights, cout: cout, cin: cin, into: dWeight.cpuPointer)
        }
    }
}
