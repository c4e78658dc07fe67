import Compute

/// The stride-1 temporal convolution of wide layers as shifted GEMMs: per sample and tap k,
/// y[:, b, q] += W_k · x[:, b, q + (k − pad)·V] over the positions q whose shifted input lies in
/// the sample's plane. Channel-major activations make each shifted input a plain column window
/// of x (leading dimension N·T·V), so no im2col buffer is built or read: for block 10
/// (256 → 256 channels, 13 frames) that buffer is 9× the input. Forward 324–385 ms against
/// 418–483 ms for im2col (alternating A/B runs). The backward keeps im2col: its column GEMM
/// (Wᵀ·dy) plus col2im measured faster than the shifted adjoint GEMMs.
extension CPUDevice {
    /// Whether the forward takes the shifted-GEMM path: stride 1 and a layer too wide for the
    /// direct kernels (narrow layers' per-sample GEMMs would be too skinny for OpenBLAS).
    public func usesShiftedGEMMs(stride: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        shiftedTemporalGEMMs && stride == 1
            && min(input.channels, outputChannels) > directTemporalConvolution.maximumChannels
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

    func temporalConvForwardShifted(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, bias: Tensor,
                                    y: Tensor, cout: Int) {
        let cin = input.channels, plane = input.frames * input.joints, cols = input.plane, pad = (kernel - 1) / 2
        let wk = tapMajorWeight(weight.cpuPointer, cout: cout, cin: cin, kernel: kernel)
        let px = x.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure("temporalConvForward", flops: 2 * Double(cout * cin * kernel) * Double(cols)) {
            if input.batch < threads {
                // Few, long samples (a frame-major view: the batch folded into the joints):
                // each tap is one large GEMM that OpenBLAS splits between the threads.
                broadcastRows(pb, into: py, rows: cout, cols: cols, threads: threads)
                for b in 0 ..< input.batch {
                    let base = b * plane
                    for k in 0 ..< kernel {
                        let shift = (k - pad) * input.joints
                        let q0 = max(0, -shift), q1 = min(plane, plane - shift)
                        guard q1 > q0 else { continue }
                        sgemmParallel(transA: false, transB: false, m: cout, n: q1 - q0, k: cin, alpha: 1,
                                      a: wk + k * cout * cin, lda: cin, b: px + base + q0 + shift, ldb: cols,
                                      beta: 1, c: py + base + q0, ldc: cols)
                    }
                }
                return
            }
            withSingleThreadedBLAS {
                parallelChunks(input.batch, threads: threads) { _, samples in
                    for b in samples {
                        let base = b * plane
                        for o in 0 ..< cout { (py + o * cols + base).update(repeating: pb[o], count: plane) }
                        for k in 0 ..< kernel {
                            let shift = (k - pad) * input.joints
                            let q0 = max(0, -shift), q1 = min(plane, plane - shift)
                            guard q1 > q0 else { continue }
                            sgemm(transA: false, transB: false, m: cout, n: q1 - q0, k: cin, alpha: 1,
                                  a: wk + k * cout * cin, lda: cin, b: px + base + q0 + shift, ldb: cols,
                                  beta: 1, c: py + base + q0, ldc: cols)
                        }
                    }
                }
            }
        }
    }
}
