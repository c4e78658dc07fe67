import CPUKernels
/// Small row-wise building blocks shared by the convolution, linear and norm ops.

/// out[r] = Σ_j m[r, j] over a row-major (rows, cols) matrix, accumulated in Double.
func rowSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>,
             threads: Int) {
    parallelFor(rows, threads: threads, minimumPerChunk: max(1, 8192 / max(cols, 1))) { range in
        for r in range {
            out[r] = Float(sumDouble(m + r * cols, cols))
        }
    }
}

/// Σ p[i] in Double (vectorised C, fixed order: deterministic).
@inline(__always)
func sumDouble(_ p: UnsafePointer<Float>, _ n: Int) -> Double { aimclr_sum(p, n) }

/// out[j] = Σ_w partials[w·stride + j] for j < count, added in worker order w = 0 ..< parts
/// (deterministic for a thread count): the merge of per-worker partial reductions.
func sumPartials(_ partials: UnsafePointer<Float>, stride: Int, parts: Int, count: Int,
                 into out: UnsafeMutablePointer<Float>) {
    out.update(from: partials, count: count)
    for w in 1 ..< max(parts, 1) {
        let part = partials + w * stride
        for j in 0 ..< count { out[j] += part[j] }
    }
}

/// m[r, :] = bias[r] for a (rows, cols) matrix: the starting value of a biased GEMM (beta = 1).
func broadcastRows(_ bias: UnsafePointer<Float>, into m: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                   threads: Int) {
    parallelFor(rows, threads: threads, minimumPerChunk: max(1, 16384 / max(cols, 1))) { range in
        for r in range {
            (m + r * cols).update(repeating: bias[r], count: cols)
        }
    }
}

/// (Σ p[i], Σ p[i]²) in Double (vectorised C, fixed order: deterministic).
@inline(__always)
func sumAndSumOfSquaresDouble(_ p: UnsafePointer<Float>, _ n: Int) -> (Double, Double) {
    var sum = 0.0, squares = 0.0
    aimclr_sum_and_squares(p, n, &sum, &squares)
    return (sum, squares)
}
