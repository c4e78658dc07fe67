import Compute

/// The stride-1 temporal convolution of wide layers on frame-major views, in the DFT domain along
/// time (`SpectralBasis`): per window of positions, the input's J = 2F + 1 real components come
/// from one small GEMM per channel, the channel mixing is one GEMM per frequency (DC: Cout × Cin;
/// f ≥ 1: the 2·Cout × 2·Cin block of the complex product), and the output frames come back by one
/// small GEMM per channel. On block 10's 13 frames that is 41 units of Cout·Cin per position for
/// the direct form's 97 valid tap-frames (117 with im2col), on the 25-frame blocks 65 for 205; the
/// backward is the adjoint of each step, with dŴ = dŶ·X̂ᵀ per frequency. The result differs from
/// the direct sums by rounding only (the basis is exact to a float ulp; N ≤ 64 terms per sum).
extension CPUDevice {
    /// Whether a stride-1 temporal convolution runs in the DFT domain: an odd kernel longer than
    /// one tap, a layer too wide for the direct kernels, and a frame-major view (at least
    /// `spectralMinimumPositions` positions per frame, so that each GEMM is long).
    public func usesSpectralTemporalConv(stride: Int, kernel: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        spectralTemporalConv && stride == 1 && kernel > 1 && kernel % 2 == 1
            && min(input.channels, outputChannels) > directTemporalConvolution.maximumChannels
            && input.joints >= spectralMinimumPositions
    }

    /// Windows of positions (sequence, first, end) within each frame: near `spectralWindowColumns`
    /// wide, their count a multiple of the workers so that none waits at the end.
    private func spectralWindows(_ input: ActivationShape) -> [(sequence: Int, first: Int, end: Int)] {
        let v = input.joints, width = max(8, spectralWindowColumns)
        var pieces = (v + width - 1) / width
        if input.batch < threads { pieces = ((pieces + threads - 1) / threads) * threads }
        pieces = min(max(1, pieces), v)
        return (0 ..< input.batch).flatMap { b in (0 ..< pieces).map { (b, v * $0 / pieces, v * ($0 + 1) / pieces) } }
    }

    /// X̂ (J rows of `channels` rows of n) of the window [v0, v0 + n) of sequence `b`: one GEMM per channel.
    private func spectralAnalysis(_ basis: SpectralBasis, _ analysis: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                  input: ActivationShape, b: Int, v0: Int, n: Int, into out: UnsafeMutablePointer<Float>) {
        let c = input.channels, t = input.frames, v = input.joints, cols = input.plane
        for ch in 0 ..< c {
            sgemm(transA: false, transB: false, m: basis.components, n: n, k: t, alpha: 1, a: analysis, lda: t,
                  b: x + ch * cols + b * t * v + v0, ldb: v, beta: 0, c: out + ch * n, ldc: c * n)
        }
    }

    /// The channel mixing of every frequency: out = W₀·in (DC) and B_f·[re; im] (f ≥ 1), or the
    /// transposed weights' products when `transposed` (the input gradient).
    private func spectralMixing(_ basis: SpectralBasis, weights: UnsafePointer<Float>, transposed: Bool,
                                rows: Int, columns: Int, n: Int, from input: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>) {
        // rows × columns: the un-transposed W₀'s shape (Cout × Cin).
        let (m, k) = transposed ? (columns, rows) : (rows, columns)
        sgemm(transA: transposed, transB: false, m: m, n: n, k: k, alpha: 1, a: weights, lda: columns,
              b: input, ldb: n, beta: 0, c: out, ldc: n)
        for f in 1 ..< basis.frequencies + 1 {
            sgemm(transA: transposed, transB: false, m: 2 * m, n: n, k: 2 * k, alpha: 1,
                  a: weights + basis.blockOffset(f, cout: rows, cin: columns), lda: 2 * columns,
                  b: input + (2 * f - 1) * k * n, ldb: n, beta: 0, c: out + (2 * f - 1) * m * n, ldc: n)
        }
    }

    /// y = conv(x) + bias, through `epilogue` when given (per window, while it is in cache).
    func temporalConvForwardSpectral(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, bias: Tensor,
                                     epilogue: ChannelEpilogue? = nil, y: Tensor, cout: Int) {
        let cin = input.channels, t = input.frames, v = input.joints, cols = input.plane
        let basis = SpectralBasis(frames: t, kernel: kernel), j = basis.components
        let weights = packedWeightScratch.floats(basis.blockWeightCount(cout: cout, cin: cin))
        let windows = spectralWindows(input)
        let workers = min(threads, windows.count), width = windows.map { $0.end - $0.first }.max() ?? 0
        let perWorker = j * (cin + cout) * width
        let scratch = columnScratch.floats(workers * perWorker)
        let px = x.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure(epilogue == nil ? "temporalConvForward" : "temporalConvInference",
                flops: 2 * Double(cout * cin * kernel) * Double(cols)) {
            basis.transformWeights(weight.cpuPointer, cout: cout, cin: cin, into: weights)
            basis.analysis.withUnsafeBufferPointer { analysis in
                basis.synthesis.withUnsafeBufferPointer { synthesis in
                    withSingleThreadedBLAS {
                        parallelChunks(windows.count, threads: workers) { worker, items in
                            let xs = scratch + worker * perWorker, ys = xs + j * cin * width
                            for w in items {
                                let (b, v0, v1) = windows[w], n = v1 - v0
                                spectralAnalysis(basis, analysis.baseAddress!, x: px, input: input, b: b, v0: v0, n: n, into: xs)
                                spectralMixing(basis, weights: weights, transposed: false, rows: cout, columns: cin, n: n,
                                               from: xs, into: ys)
                                for o in 0 ..< cout {
                                    let row = py + o * cols + b * t * v + v0
                                    for f in 0 ..< t { (row + f * v).update(repeating: pb[o], count: n) }
                                    sgemm(transA: false, transB: false, m: t, n: n, k: j, alpha: 1, a: synthesis.baseAddress!,
                                          lda: j, b: ys + o * n, ldb: cout * n, beta: 1, c: row, ldc: v)
                                    guard let epilogue else { continue }
                                    for f in 0 ..< t {
                                        let at = o * cols + b * t * v + f * v + v0
                                        epilogueRows(epilogue, channelLength: cols, range: at ..< at + n, from: py, into: py)
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
    /// by the synthesis' transpose, dŴ_f += dŶ_f·X̂_fᵀ (per-worker partials, added in worker order),
    /// dX̂_f = Ŵ_fᵀ·dŶ_f, dx from dX̂ by the analysis' transpose.
    func temporalConvBackwardSpectral(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, dy: Tensor,
                                      dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor, cout: Int) {
        let cin = input.channels, t = input.frames, v = input.joints, cols = input.plane
        let basis = SpectralBasis(frames: t, kernel: kernel), j = basis.components
        let weightCount = basis.blockWeightCount(cout: cout, cin: cin)
        let weights = packedWeightScratch.floats(weightCount)
        let windows = spectralWindows(input)
        let workers = min(threads, windows.count), width = windows.map { $0.end - $0.first }.max() ?? 0
        let perWorker = j * (cin + cout) * width
        // Per-worker windows, then per-worker partial dŴ (summed into the first).
        let scratch = columnScratch.floats(workers * (perWorker + weightCount))
        let partials = scratch + workers * perWorker
        let px = x.cpuPointer, pdy = dy.cpuPointer, pdx = dx?.cpuPointer
        measure("temporalConvBackward", flops: 2 * Double(cout * cin * kernel) * Double(cols) * (dx == nil ? 1 : 2)) {
            basis.transformWeights(weight.cpuPointer, cout: cout, cin: cin, into: weights)
            rowSums(pdy, rows: cout, cols: cols, into: dBias.cpuPointer, threads: threads)
            basis.analysis.withUnsafeBufferPointer { analysis in
                basis.synthesis.withUnsafeBufferPointer { synthesis in
                    withSingleThreadedBLAS {
                        parallelChunks(windows.count, threads: workers) { worker, items in
                            let xs = scratch + worker * perWorker, dys = xs + j * cin * width
                            let part = partials + worker * weightCount
                            part.update(repeating: 0, count: weightCount)
                            for w in items {
                                let (b, v0, v1) = windows[w], n = v1 - v0
                                spectralAnalysis(basis, analysis.baseAddress!, x: px, input: input, b: b, v0: v0, n: n, into: xs)
                                for o in 0 ..< cout {
                                    sgemm(transA: true, transB: false, m: j, n: n, k: t, alpha: 1, a: synthesis.baseAddress!,
                                          lda: j, b: pdy + o * cols + b * t * v + v0, ldb: v, beta: 0, c: dys + o * n,
                                          ldc: cout * n)
                                }
                                sgemm(transA: false, transB: true, m: cout, n: cin, k: n, alpha: 1, a: dys, lda: n,
                                      b: xs, ldb: n, beta: 1, c: part, ldc: cin)
                                for f in 1 ..< basis.frequencies + 1 {
                                    sgemm(transA: false, transB: true, m: 2 * cout, n: 2 * cin, k: n, alpha: 1,
                                          a: dys + (2 * f - 1) * cout * n, lda: n, b: xs + (2 * f - 1) * cin * n, ldb: n,
                                          beta: 1, c: part + basis.blockOffset(f, cout: cout, cin: cin), ldc: 2 * cin)
                                }
                                guard let pdx else { continue }
                                // X̂ is spent: its space takes dX̂.
                                spectralMixing(basis, weights: weights, transposed: true, rows: cout, columns: cin, n: n,
                                               from: dys, into: xs)
                                for ch in 0 ..< cin {
                                    sgemm(transA: true, transB: false, m: t, n: n, k: j, alpha: 1, a: analysis.baseAddress!,
                                          lda: t, b: xs + ch * n, ldb: cin * n, beta: accumulate ? 1 : 0,
                                          c: pdx + ch * cols + b * t * v + v0, ldc: v)
                                }
                            }
                        }
                    }
                }
            }
            for w in 1 ..< max(workers, 1) {
                let part = partials + w * weightCount
                for i in 0 ..< weightCount { partials[i] += part[i] }
            }
            basis.weightGradient(partials, cout: cout, cin: cin, into: dWeight.cpuPointer)
        }
    }
}
