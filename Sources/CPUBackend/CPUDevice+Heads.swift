import Compute

/// Global average pooling, the linear layer and the row-wise L2 normalisation that sit
/// between the backbone and the losses. Sizes here are small (B ≤ a few hundred rows).
extension CPUDevice {
    public func poolForward(x: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.pool("poolForward", activation: x, channels: channels, samples: samples, persons: persons,
                                plane: plane, pooled: y)
        }) else { return }
        let c = channels, ns = samples, m = persons
        let px = x.cpuPointer, py = y.cpuPointer
        let inv = 1 / (Double(m) * Double(plane))
        measure("poolForward", cost) {
            parallelFor(c, threads: threads, minimumPerChunk: max(1, 8192 / max(ns * m * plane, 1))) { r in
                for ch in r {
                    for n in 0 ..< ns {
                        var s = 0.0
                        for person in 0 ..< m {
                            s += sumDouble(px + ((ch * ns + n) * m + person) * plane, plane)
                        }
                        py[n * c + ch] = Float(s * inv)
                    }
                }
            }
        }
    }

    public func poolBackward(dy: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, dx: Tensor) {
        guard let cost = errors.check({
            try OpContract.pool("poolBackward", activation: dx, channels: channels, samples: samples, persons: persons,
                                plane: plane, pooled: dy)
        }) else { return }
        let c = channels, ns = samples, m = persons
        let pdy = dy.cpuPointer, pdx = dx.cpuPointer
        let inv = 1 / (Float(m) * Float(plane))
        measure("poolBackward", cost) {
            parallelFor(c, threads: threads, minimumPerChunk: max(1, 8192 / max(ns * m * plane, 1))) { r in
                for ch in r {
                    for n in 0 ..< ns {
                        let g = pdy[n * c + ch] * inv
                        (pdx + (ch * ns + n) * m * plane).update(repeating: g, count: m * plane)
                    }
                }
            }
        }
    }

    public func linearForward(x: Tensor, weight: Tensor, bias: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.linearForward(x: x, weight: weight, bias: bias, y: y) })
        else { return }
        let out = weight.dim(0), inp = weight.dim(1), b = x.count / inp
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure("linearForward", cost) {
            for row in 0 ..< b { (py + row * out).update(from: pb, count: out) }
            sgemm(transA: false, transB: true, m: b, n: out, k: inp, alpha: 1,
                  a: px, lda: inp, b: pw, ldb: inp, beta: 1, c: py, ldc: out)
        }
    }

    public func linearBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor?, dWeight: Tensor, dBias: Tensor) {
        guard let cost = errors.check({
            try OpContract.linearBackward(x: x, weight: weight, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias)
        }) else { return }
        let out = weight.dim(0), inp = weight.dim(1), b = x.count / inp
        let px = x.cpuPointer, pw = weight.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pdx = dx?.cpuPointer
        measure("linearBackward", cost) {
            // dW(out, in) = dyᵀ(out, B) · x(B, in)
            sgemm(transA: true, transB: false, m: out, n: inp, k: b, alpha: 1,
                  a: pdy, lda: out, b: px, ldb: inp, beta: 0, c: pdw, ldc: inp)
            for j in 0 ..< out {
                var s = 0.0
                for row in 0 ..< b { s += Double(pdy[row * out + j]) }
                pdb[j] = Float(s)
            }
            if let pdx {
                // dx(B, in) = dy(B, out) · W(out, in)
                sgemm(transA: false, transB: false, m: b, n: inp, k: out, alpha: 1,
                      a: pdy, lda: out, b: pw, ldb: inp, beta: 0, c: pdx, ldc: inp)
            }
        }
    }

    public func l2NormalizeForward(x: Tensor, epsilon: Float, y: Tensor) {
        guard let cost = errors.check({ try OpContract.l2Normalize("l2NormalizeForward", x: x, dy: nil, output: y) })
        else { return }
        let (rows, d) = OpContract.rowsAndWidth(x)
        let px = x.cpuPointer, py = y.cpuPointer
        measure("l2NormalizeForward", cost) {
            for r in 0 ..< rows {
                let xs = px + r * d, ys = py + r * d
                var ss = 0.0
                for i in 0 ..< d { ss += Double(xs[i]) * Double(xs[i]) }
                let inv = 1 / max(Float(ss.squareRoot()), epsilon)
                for i in 0 ..< d { ys[i] = xs[i] * inv }
            }
        }
    }

    /// With n = ‖x‖ > eps: dx = (dy − y·(y·dy)) / n. Below eps the denominator is the
    /// constant eps (PyTorch's clamp_min passes no gradient), so dx = dy / eps.
    public func l2NormalizeBackward(x: Tensor, epsilon: Float, dy: Tensor, dx: Tensor) {
        guard let cost = errors.check({ try OpContract.l2Normalize("l2NormalizeBackward", x: x, dy: dy, output: dx) })
        else { return }
        let (rows, d) = OpContract.rowsAndWidth(x)
        let px = x.cpuPointer, pdy = dy.cpuPointer, pdx = dx.cpuPointer
        measure("l2NormalizeBackward", cost) {
            for r in 0 ..< rows {
                let xs = px + r * d, gs = pdy + r * d, ds = pdx + r * d
                var ss = 0.0, dot = 0.0
                for i in 0 ..< d {
                    ss += Double(xs[i]) * Double(xs[i])
                    dot += Double(xs[i]) * Double(gs[i])
                }
                let norm = ss.squareRoot()
                if norm > Double(epsilon) {
                    let inv = Float(1 / norm)
                    let k = Float(dot / (norm * norm * norm))
                    for i in 0 ..< d { ds[i] = gs[i] * inv - xs[i] * k }
                } else {
                    let inv = 1 / epsilon
                    for i in 0 ..< d { ds[i] = gs[i] * inv }
                }
            }
        }
    }
}
