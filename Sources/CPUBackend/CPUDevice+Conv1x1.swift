import Compute

/// 1x1 convolution (the residual projection): one GEMM over the channel-major (C, N·T·V)
/// matrix; with a temporal stride the kept frames are first gathered into a dense matrix.
extension CPUDevice {
    /// Copies x[:, :, ::stride, :] into a dense (C, N·Tout·V) matrix.
    func gatherFrames(_ x: UnsafePointer<Float>, _ s: ActivationShape, stride: Int, tOut: Int,
                      into g: UnsafeMutablePointer<Float>) {
        let v = s.joints, t = s.frames, n = s.batch
        parallelFor(s.channels * n, threads: threads, minimumPerChunk: 16) { range in
            for cn in range {
                let src = x + cn * t * v
                let dst = g + cn * tOut * v
                for to in 0 ..< tOut {
                    (dst + to * v).update(from: src + to * stride * v, count: v)
                }
            }
        }
    }

    /// Writes (or adds) a dense (C, N·Tout·V) gradient back to frames 0, s, 2s, … of dx;
    /// the skipped frames get zero (or keep their contents when accumulating).
    func scatterFrames(_ g: UnsafePointer<Float>, _ s: ActivationShape, stride: Int, tOut: Int,
                       into dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let v = s.joints, t = s.frames, n = s.batch
        parallelFor(s.channels * n, threads: threads, minimumPerChunk: 16) { range in
            for cn in range {
                let dst = dx + cn * t * v
                let src = g + cn * tOut * v
                if !accumulate { dst.update(repeating: 0, count: t * v) }
                for to in 0 ..< tOut {
                    let d = dst + to * stride * v, sp = src + to * v
                    if accumulate {
                        for j in 0 ..< v { d[j] += sp[j] }
                    } else {
                        d.update(from: sp, count: v)
                    }
                }
            }
        }
    }

    public func conv1x1Forward(x: Tensor, input: ActivationShape, stride: Int,
                               weight: Tensor, bias: Tensor, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.conv1x1Forward(x: x, input: input, stride: stride, weight: weight, bias: bias, y: y)
        }) else { return }
        let cin = input.channels, cout = weight.dim(0)
        let tOut = OpContract.outputFrames(input.frames, stride: stride)
        let cols = input.batch * tOut * input.joints
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure("conv1x1Forward", cost) {
            var src = UnsafePointer(px)
            if stride > 1 {
                let g = columnScratch.floats(cin * cols)
                gatherFrames(px, input, stride: stride, tOut: tOut, into: g)
                src = UnsafePointer(g)
            }
            broadcastRows(pb, into: py, rows: cout, cols: cols, threads: threads)
            sgemmParallel(transA: false, transB: false, m: cout, n: cols, k: cin, alpha: 1,
                          a: pw, lda: cin, b: src, ldb: cols, beta: 1, c: py, ldc: cols)
        }
    }

    public func conv1x1Backward(x: Tensor, input: ActivationShape, stride: Int, weight: Tensor,
                                dy: Tensor, dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor) {
        guard let cost = errors.check({
            try OpContract.conv1x1Backward(x: x, input: input, stride: stride, weight: weight, dy: dy, dx: dx,
                                           dWeight: dWeight, dBias: dBias)
        }) else { return }
        let cin = input.channels, cout = weight.dim(0)
        let tOut = OpContract.outputFrames(input.frames, stride: stride)
        let cols = input.batch * tOut * input.joints
        let px = x.cpuPointer, pw = weight.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pdx = dx?.cpuPointer
        measure("conv1x1Backward", cost) {
            rowSums(pdy, rows: cout, cols: cols, into: pdb, threads: threads)
            var src = UnsafePointer(px)
            if stride > 1 {
                let g = columnScratch.floats(cin * cols)
                gatherFrames(px, input, stride: stride, tOut: tOut, into: g)
                src = UnsafePointer(g)
            }
            // dW(Cout, Cin) = dy(Cout, P) · xᵀ(P, Cin)
            sgemmLongK(transA: false, transB: true, m: cout, n: cin, k: cols, alpha: 1,
                       a: pdy, lda: cols, b: src, ldb: cols, beta: 0, c: pdw, ldc: cin)
            guard let pdx else { return }
            if stride == 1 {
                // dx(Cin, P) = Wᵀ(Cin, Cout) · dy(Cout, P)
                sgemmParallel(transA: true, transB: false, m: cin, n: cols, k: cout, alpha: 1,
                              a: pw, lda: cin, b: pdy, ldb: cols, beta: accumulate ? 1 : 0, c: pdx, ldc: cols)
            } else {
                let g = columnScratch.floats(cin * cols)
                sgemmParallel(transA: true, transB: false, m: cin, n: cols, k: cout, alpha: 1,
                              a: pw, lda: cin, b: pdy, ldb: cols, beta: 0, c: g, ldc: cols)
                scatterFrames(g, input, stride: stride, tOut: tOut, into: pdx, accumulate: accumulate)
            }
        }
    }
}
