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

/// Σ p[i] in Double with four independent accumulators (keeps the FP adds pipelined).
@inline(__always)
func sumDouble(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= n {
        s0 += Double(p[i]); s1 += Double(p[i + 1]); s2 += Double(p[i + 2]); s3 += Double(p[i + 3])
        i += 4
    }
    while i < n { s0 += Double(p[i]); i += 1 }
    return (s0 + s1) + (s2 + s3)
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

/// (Σ p[i], Σ p[i]²) in Double, two independent accumulators each.
@inline(__always)
func sumAndSumOfSquaresDouble(_ p: UnsafePointer<Float>, _ n: Int) -> (Double, Double) {
    var s0 = 0.0, s1 = 0.0, q0 = 0.0, q1 = 0.0
    var i = 0
    while i + 2 <= n {
        let a = Double(p[i]), b = Double(p[i + 1])
        s0 += a; s1 += b
        q0 += a * a; q1 += b * b
        i += 2
    }
    if i < n { let a = Double(p[i]); s0 += a; q0 += a * a }
    return (s0 + s1, q0 + q1)
}
