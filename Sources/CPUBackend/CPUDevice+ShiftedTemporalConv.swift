import Compute

/// The stride-1 temporal convolution of wide layers as shifted GEMMs: per window of positions
/// and tap k, y[:, q] += W_k · x[:, q + (k − pad)·V] over the positions q whose shifted input lies
/// in the sequence's plane. Channel-major activations make each shifted input a plain column
/// window of x, so no im2col buffer (9× the input for block 10) is built or read.
///
/// Sample-major, a window is one sequence (forward only: there the backward keeps im2col, whose
/// column GEMM plus col2im measured faster than per-sequence adjoint GEMMs). On a frame-major view
/// (block 10: one sequence of T frames of N·M·V joints) the windows are cache-sized runs of a
/// long plane, and forward and backward both take this path (`bench ops --interleave`: forward
/// 465 → 371 ms, backward 1054 → 856 ms against streamed im2col).
extension CPUDevice {
    /// Whether the forward takes the shifted-GEMM path: stride 1 and a layer too wide for the
    /// direct kernels (narrow layers' per-sample GEMMs would be too skinny for OpenBLAS).
    public func usesShiftedGEMMs(stride: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        shiftedTemporalGEMMs && stride == 1
            && min(input.channels, outputChannels) > directTemporalConvolution.maximumChannels
    }

    /// Whether the backward takes the shifted-GEMM path too: a wide stride-1 layer over fewer
    /// sequences than workers (a frame-major view, where the batch is folded into the joints and
    /// each tap's window is one long GEMM).
    public func usesShiftedBackward(stride: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        input.batch < threads && usesShiftedGEMMs(stride: stride, input: input, outputChannels: outputChannels)
    }

    /// W_k(Cout, Cin) for every tap, tap-major, in the packed-weight scratch.
    private func tapMajorWeight(_ w: UnsafePointer<Float>, cout: Int, cin: Int, kernel: Int) -> UnsafePointer<Float> {
        let wk = packedWeightScratch.floats(kernel * cout * cin)
        for o in 0 ..< cout {
            for i in 0 ..< cin {
                let src = w + (o * cin + i) * kernel
                for k in 0 ..< kernel { wk[(k * cout + o) * cin + i] = src[k] }
            }
        }
        return UnsafePointer(wk)
    }

    /// y = conv(x) + bias, through `epilogue` when given (applied to each window's output tile
    /// while it is in cache).
    func temporalConvForwardShifted(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, bias: Tensor,
                                    epilogue: ChannelEpilogue? = nil, y: Tensor, cout: Int) {
        let cin = input.channels, plane = input.frames * input.joints, cols = input.plane, pad = (kernel - 1) / 2
        let wk = tapMajorWeight(weight.cpuPointer, cout: cout, cin: cin, kernel: kernel)
        let px = x.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        let windows = tapWindows(input, kernel: kernel)
        measure(epilogue == nil ? "temporalConvForward" : "temporalConvInference",
                flops: 2 * Double(cout * cin * kernel) * Double(cols)) {
            withSingleThreadedBLAS {
                parallelChunks(windows.count, threads: threads) { _, items in
                    for w in items {
                        let (base, c0, c1) = windows[w]
                        for o in 0 ..< cout { (py + o * cols + base + c0).update(repeating: pb[o], count: c1 - c0) }
                        for k in 0 ..< kernel {
                            // Output positions q of [c0, c1) whose input q + shift lies in the plane.
                            let shift = (k - pad) * input.joints
                            let q0 = max(c0, -shift), q1 = min(c1, plane - shift)
                            guard q1 > q0 else { continue }
                            sgemm(transA: false, transB: false, m: cout, n: q1 - q0, k: cin, alpha: 1,
                                  a: wk + k * cout * cin, lda: cin, b: px + base + q0 + shift, ldb: cols,
                                  beta: 1, c: py + base + q0, ldc: cols)
                        }
                        if let epilogue {
                            for o in 0 ..< cout {
                                let at = o * cols + base
                                epilogueRows(epilogue, channelLength: cols, range: at + c0 ..< at + c1, from: py, into: py)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The windows of positions the shifted GEMMs work on, as (sequence offset, first, end) in
    /// each sequence's plane: one per sequence when there are at least as many sequences as
    /// workers; otherwise (a frame-major view) each long plane is cut into windows whose output
    /// tile (Cout × window) stays in the L2 cache across the taps.
    private func tapWindows(_ input: ActivationShape, kernel: Int) -> [(Int, Int, Int)] {
        let plane = input.frames * input.joints
        guard input.batch < threads else { return (0 ..< input.batch).map { ($0 * plane, 0, plane) } }
        let width = max(16, shiftedWindowColumns)
        return (0 ..< input.batch).flatMap { b in
            Swift.stride(from: 0, to: plane, by: width).map { (b * plane, $0, min($0 + width, plane)) }
        }
    }

    /// Gradients of a frame-major view as shifted GEMMs over windows (see `tapWindows`), tap k
    /// with shift s: dW_k += dy[:, q] · x[:, q + s]ᵀ over the window's output positions q (per-
    /// worker partials, added in worker order), dx[:, p] += W_kᵀ · dy[:, p − s] over the window's
    /// input positions p (the centre tap, whose range is the whole window, first, so dx needs no
    /// clearing), db = Σ dy. Only valid taps are multiplied: with 13 frames and 9 taps that is 97
    /// of im2col's 117 tap-frames, and nothing is built or folded back.
    func temporalConvBackwardShifted(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, dy: Tensor,
                                     dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor, cout: Int) {
        let cin = input.channels, plane = input.frames * input.joints, cols = input.plane, pad = (kernel - 1) / 2
        let px = x.cpuPointer, pdy = dy.cpuPointer, pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pdx = dx?.cpuPointer
        let wk = tapMajorWeight(weight.cpuPointer, cout: cout, cin: cin, kernel: kernel)
        let windows = tapWindows(input, kernel: kernel)
        let workers = min(threads, windows.count), size = kernel * cout * cin
        // Per-worker partial dW, then their sum (tap-major).
        let partials = columnScratch.floats((workers + 1) * size), dwk = partials + workers * size
        let taps = [pad] + (0 ..< kernel).filter { $0 != pad }
        measure("temporalConvBackward", flops: 2 * Double(cout * cin * kernel) * Double(cols) * (dx == nil ? 1 : 2)) {
            rowSums(pdy, rows: cout, cols: cols, into: pdb, threads: threads)
            withSingleThreadedBLAS {
                parallelChunks(windows.count, threads: workers) { worker, items in
                    let part = partials + worker * size
                    part.update(repeating: 0, count: size)
                    for w in items {
                        let (base, c0, c1) = windows[w]
                        for k in taps {
                            let shift = (k - pad) * input.joints
                            let q0 = max(c0, -shift), q1 = min(c1, plane - shift)
                            if q1 > q0 {
                                sgemm(transA: false, transB: true, m: cout, n: cin, k: q1 - q0, alpha: 1,
                                      a: pdy + base + q0, lda: cols, b: px + base + q0 + shift, ldb: cols,
                                      beta: 1, c: part + k * cout * cin, ldc: cin)
                            }
                            guard let pdx else { continue }
                            let p0 = max(c0, shift), p1 = min(c1, plane + shift)
                            guard p1 > p0 else { continue }
                            sgemm(transA: true, transB: false, m: cin, n: p1 - p0, k: cout, alpha: 1,
                                  a: wk + k * cout * cin, lda: cin, b: pdy + base + p0 - shift, ldb: cols,
                                  beta: k == pad && !accumulate ? 0 : 1, c: pdx + base + p0, ldc: cols)
                        }
                    }
                }
            }
            sumPartials(partials, stride: size, parts: workers, count: size, into: dwk)
            for o in 0 ..< cout {
                for i in 0 ..< cin {
                    let dst = pdw + (o * cin + i) * kernel
                    for k in 0 ..< kernel { dst[k] = dwk[(k * cout + o) * cin + i] }
                }
            }
        }
    }
}
