extension OpContract {
    /// A row-major rows × cols view with leading dimension ld at `offset` lies inside t's storage.
    static func matrixFits(_ op: String, _ name: String, _ t: Tensor, offset: Int, rows: Int, cols: Int, ld: Int) throws {
        try require(rows >= 0 && cols >= 0 && ld >= max(cols, 1), op, "\(name) \(rows)×\(cols) with leading dimension \(ld)")
        try require(offset >= 0 && (rows == 0 || cols == 0 || offset + (rows - 1) * ld + cols <= t.count), op,
                    "\(name) \(rows)×\(cols) (ld \(ld)) at offset \(offset) exceeds tensor \(t.shape)")
    }

    /// C = alpha·op(A)·op(B) + beta·C for `batch` matrices `stride` floats apart (batch 1: one GEMM).
    public static func gemm(_ op: String, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: Tensor, aOffset: Int, lda: Int, strideA: Int = 0,
                            b: Tensor, bOffset: Int, ldb: Int, strideB: Int = 0,
                            c: Tensor, cOffset: Int, ldc: Int, strideC: Int = 0, batch: Int = 1) throws -> OpCost {
        try require(m >= 0 && n >= 0 && k >= 0 && batch >= 0, op, "m \(m), n \(n), k \(k), batch \(batch)")
        if batch > 0 {
            let last = batch - 1
            try matrixFits(op, "A", a, offset: aOffset + last * strideA, rows: transA ? k : m, cols: transA ? m : k, ld: lda)
            try matrixFits(op, "B", b, offset: bOffset + last * strideB, rows: transB ? n : k, cols: transB ? k : n, ld: ldb)
            try matrixFits(op, "C", c, offset: cOffset + last * strideC, rows: m, cols: n, ld: ldc)
        }
        let fb = Double(batch)
        return OpCost(flops: 2 * Double(m) * Double(n) * Double(k) * fb,
                      bytes: 4 * fb * (Double(m * k) + Double(k * n) + 2 * Double(m * n)))
    }
}
