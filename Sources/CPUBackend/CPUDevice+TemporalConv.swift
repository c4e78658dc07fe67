import Compute

/// Temporal convolution (kernel kt×1, zero padding (kt−1)/2, stride s) as im2col + one GEMM.
///
/// `columns` is (Cin·kt, N·Tout·V) with row ci·kt + k, which is exactly the memory order
/// of PyTorch's weight (Cout, Cin, kt, 1) viewed as (Cout, Cin·kt).
extension CPUDevice {
    private func temporalGeometry(_ op: String, x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                  weight: Tensor) -> (cout: Int, tOut: Int, cols: Int) {
        precondition(kernel >= 1 && kernel % 2 == 1 && stride >= 1,
                     "\(op): kernel \(kernel) (must be odd), stride \(stride)")
        let cout = weight.dim(0)
        let pad = (kernel - 1) / 2
        let tOut = (input.frames + 2 * pad - kernel) / stride + 1
        precondition(weight.count == cout * input.channels * kernel && x.count >= input.count,
                     "\(op): x \(x.shape) as \(input), weight \(weight.shape), kernel \(kernel)")
        return (cout, tOut, input.batch * tOut * input.joints)
    }

    public func temporalConvForward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                    weight: Tensor, bias: Tensor, columns: Tensor, y: Tensor) {
        let (cout, tOut, cols) = temporalGeometry("temporalConvForward", x: x, input: input, kernel: kernel,
                                                  stride: stride, weight: weight)
        let cin = input.channels
        precondition(columns.buffer.count >= cin * kernel * cols && y.count >= cout * cols && bias.count >= cout,
                     "temporalConvForward: columns \(columns.shape) needs \(cin * kernel * cols), y \(y.shape) needs \(cout * cols)")
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer
        let pc = columns.cpuPointer, py = y.cpuPointer
        measure("temporalConvForward", flops: 2 * Double(cout * cin * kernel) * Double(cols)) {
            im2col(px, input, kernel: kernel, stride: stride, tOut: tOut, into: pc)
            broadcastRows(pb, into: py, rows: cout, cols: cols, threads: threads)
            sgemm(transA: false, transB: false, m: cout, n: cols, k: cin * kernel, alpha: 1,
                  a: pw, lda: cin * kernel, b: pc, ldb: cols, beta: 1, c: py, ldc: cols)
        }
    }

    public func temporalConvBackward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                     weight: Tensor, columns: Tensor, dy: Tensor,
                                     dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor) {
        let (cout, tOut, cols) = temporalGeometry("temporalConvBackward", x: x, input: input, kernel: kernel,
                                                  stride: stride, weight: weight)
        let cin = input.channels
        let rowsK = cin * kernel
        precondition(columns.buffer.count >= rowsK * cols && dy.count >= cout * cols
                     && dWeight.count >= cout * rowsK && dBias.count >= cout
                     && (dx == nil || dx!.count >= input.count),
                     "temporalConvBackward: columns \(columns.shape), dy \(dy.shape), dW \(dWeight.shape) for \(input), kernel \(kernel)")
        let pw = weight.cpuPointer, pc = columns.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pdx = dx?.cpuPointer
        measure("temporalConvBackward", flops: 2 * Double(cout * rowsK) * Double(cols) * (dx == nil ? 1 : 2)) {
            rowSums(pdy, rows: cout, cols: cols, into: pdb, threads: threads)
            // dW(Cout, Cin·kt) = dy · columnsᵀ
            sgemm(transA: false, transB: true, m: cout, n: rowsK, k: cols, alpha: 1,
                  a: pdy, lda: cols, b: pc, ldb: cols, beta: 0, c: pdw, ldc: rowsK)
            guard let pdx else { return }
            // dcolumns(Cin·kt, P) = Wᵀ · dy, then folded back onto the frames.
            let dcol = columnScratch.floats(rowsK * cols)
            sgemm(transA: true, transB: false, m: rowsK, n: cols, k: cout, alpha: 1,
                  a: pw, lda: rowsK, b: pdy, ldb: cols, beta: 0, c: dcol, ldc: cols)
            col2im(dcol, input, kernel: kernel, stride: stride, tOut: tOut, into: pdx, accumulate: accumulate)
        }
    }

    /// columns[ci·kt + k, n, to, :] = x[ci, n, to·s + k − pad, :] (zero outside 0 ..< T).
    private func im2col(_ x: UnsafePointer<Float>, _ s: ActivationShape, kernel: Int, stride: Int, tOut: Int,
                        into c: UnsafeMutablePointer<Float>) {
        let v = s.joints, t = s.frames, n = s.batch, pad = (kernel - 1) / 2
        let cols = n * tOut * v
        parallelFor(s.channels * kernel, threads: threads, minimumPerChunk: 4) { range in
            for row in range {
                let ci = row / kernel, k = row % kernel
                for b in 0 ..< n {
                    let src = x + (ci * n + b) * t * v
                    let dst = c + row * cols + b * tOut * v
                    for to in 0 ..< tOut {
                        let ti = to * stride + k - pad
                        if ti >= 0 && ti < t {
                            (dst + to * v).update(from: src + ti * v, count: v)
                        } else {
                            (dst + to * v).update(repeating: 0, count: v)
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: dx[ci, n, t, :] (+)= Σ_k dcolumns[ci·kt + k, n, to, :] over
    /// the (k, to) with to·s + k − pad = t. Each worker owns whole input channels.
    private func col2im(_ c: UnsafePointer<Float>, _ s: ActivationShape, kernel: Int, stride: Int, tOut: Int,
                        into dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let v = s.joints, t = s.frames, n = s.batch, pad = (kernel - 1) / 2
        let cols = n * tOut * v
        parallelFor(s.channels, threads: threads) { range in
            for ci in range {
                let plane = dx + ci * n * t * v
                if !accumulate { plane.update(repeating: 0, count: n * t * v) }
                for k in 0 ..< kernel {
                    let row = c + (ci * kernel + k) * cols
                    for b in 0 ..< n {
                        let dst = plane + b * t * v
                        let src = row + b * tOut * v
                        for to in 0 ..< tOut {
                            let ti = to * stride + k - pad
                            guard ti >= 0 && ti < t else { continue }
                            let d = dst + ti * v, sp = src + to * v
                            for j in 0 ..< v { d[j] += sp[j] }
                        }
                    }
                }
            }
        }
    }
}
