import Compute

/// Global average pooling, the linear layer and the row-wise L2 normalisation that sit
/// between the backbone and the losses. Sizes here are small (B ≤ a few hundred rows).
extension CPUDevice {
    public func poolForward(x: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, y: Tensor) {
        let c = channels, ns = samples, m = persons
        precondition(x.count >= c * ns * m * plane && y.count >= ns * c,
                     "poolForward: x \(x.shape) for C \(c), N \(ns), M \(m), plane \(plane); y \(y.shape)")
        let px = x.cpuPointer, py = y.cpuPointer
        let inv = 1 / (Double(m) * Double(plane))
        measure("poolForward", bytes: Double(4 * c * ns * m * plane)) {
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
        let c = channels, ns = samples, m = persons
        precondition(dx.count >= c * ns * m * plane && dy.count >= ns * c,
                     "poolBackward: dx \(dx.shape) for C \(c), N \(ns), M \(m), plane \(plane); dy \(dy.shape)")
        let pdy = dy.cpuPointer, pdx = dx.cpuPointer
        let inv = 1 / (Float(m) * Float(plane))
        measure("poolBackward", bytes: Double(4 * c * ns * m * plane)) {
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
        let out = weight.dim(0), inp = weight.count / max(out, 1)
        let b = x.count / max(inp, 1)
        precondition(x.count == b * inp && bias.count >= out && y.count >= b * out,
                     "linearForward: x \(x.shape), weight \(weight.shape), bias \(bias.shape), y \(y.shape)")
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure("linearForward", flops: 2 * Double(b * out * inp)) {
            for row in 0 ..< b { (py + row * out).update(from: pb, count: out) }
            sgemm(transA: false, transB: true, m: b, n: out, k: inp, alpha: 1,
                  a: px, lda: inp, b: pw, ldb: inp, beta: 1, c: py, ldc: out)
        }
    }

    public func linearBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor?, dWeight: Tensor, dBias: Tensor) {
        let out = weight.dim(0), inp = weight.count / max(out, 1)
        let b = x.count / max(inp, 1)
        precondition(x.count == b * inp && dy.count >= b * out && dWeight.count >= out * inp && dBias.count >= out
                     && (dx == nil || dx!.count >= b * inp),
                     "linearBackward: x \(x.shape), weight \(weight.shape), dy \(dy.shape)")
        let px = x.cpuPointer, pw = weight.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pdx = dx?.cpuPointer
        measure("linearBackward", flops: 2 * Double(b * out * inp) * (dx == nil ? 1 : 2)) {
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

    private func rowsAndWidth(_ op: String, _ x: Tensor) -> (Int, Int) {
        precondition(x.shape.count >= 1, "\(op): x \(x.shape) needs a row dimension")
        let rows = x.dim(0)
        return (rows, rows == 0 ? 0 : x.count / rows)
    }

    public func l2NormalizeForward(x: Tensor, epsilon: Float, y: Tensor) {
        let (rows, d) = rowsAndWidth("l2NormalizeForward", x)
        precondition(y.count >= rows * d, "l2NormalizeForward: x \(x.shape), y \(y.shape)")
        let px = x.cpuPointer, py = y.cpuPointer
        measure("l2NormalizeForward", bytes: Double(8 * rows * d)) {
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
        let (rows, d) = rowsAndWidth("l2NormalizeBackward", x)
        precondition(dy.count >= rows * d && dx.count >= rows * d,
                     "l2NormalizeBackward: x \(x.shape), dy \(dy.shape), dx \(dx.shape)")
        let px = x.cpuPointer, pdy = dy.cpuPointer, pdx = dx.cpuPointer
        measure("l2NormalizeBackward", bytes: Double(12 * rows * d)) {
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
