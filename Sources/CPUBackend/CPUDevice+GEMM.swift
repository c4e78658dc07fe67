import CBLAS
import Compute

/// Row-major SGEMM on raw pointers: C = alpha·op(A)·op(B) + beta·C.
/// Every GEMM of the backend goes through here; OpenBLAS threads it internally.
@inline(__always)
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C untouched only for beta == 1; make k == 0 mean "scale C by beta".
        for i in 0 ..< m {
            let row = c + i * ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 {
                for j in 0 ..< n { row[j] *= beta }
            }
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Checks that a row-major matrix view (rows × cols, leading dimension ld) starting at
/// `offset` fits inside a tensor's storage.
@inline(__always)
func checkMatrix(_ op: String, _ name: String, _ t: Tensor, offset: Int, rows: Int, cols: Int, ld: Int) {
    precondition(ld >= max(cols, 1), "\(op): \(name) leading dimension \(ld) < \(cols) columns")
    precondition(offset >= 0 && (rows == 0 || cols == 0 || offset + (rows - 1) * ld + cols <= t.buffer.count),
                 "\(op): \(name) \(rows)×\(cols) (ld \(ld)) at offset \(offset) exceeds tensor \(t.shape)")
}

extension CPUDevice {
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Tensor, aOffset: Int, lda: Int,
                     b: Tensor, bOffset: Int, ldb: Int,
                     beta: Float, c: Tensor, cOffset: Int, ldc: Int) {
        checkMatrix("gemm", "A", a, offset: aOffset, rows: transA ? k : m, cols: transA ? m : k, ld: lda)
        checkMatrix("gemm", "B", b, offset: bOffset, rows: transB ? n : k, cols: transB ? k : n, ld: ldb)
        checkMatrix("gemm", "C", c, offset: cOffset, rows: m, cols: n, ld: ldc)
        let pa = a.cpuPointer + aOffset, pb = b.cpuPointer + bOffset, pc = c.cpuPointer + cOffset
        measure("gemm", flops: 2 * Double(m) * Double(n) * Double(k)) {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: pa, lda: lda, b: pb, ldb: ldb, beta: beta, c: pc, ldc: ldc)
        }
    }

    /// OpenBLAS 0.3.21 has no batched SGEMM, so this is a loop of `cblas_sgemm` calls.
    public func gemmStridedBatched(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                   a: Tensor, aOffset: Int, lda: Int, strideA: Int,
                                   b: Tensor, bOffset: Int, ldb: Int, strideB: Int,
                                   beta: Float, c: Tensor, cOffset: Int, ldc: Int, strideC: Int,
                                   batch: Int) {
        guard batch > 0 else { return }
        let last = batch - 1
        checkMatrix("gemmStridedBatched", "A", a, offset: aOffset + last * strideA,
                    rows: transA ? k : m, cols: transA ? m : k, ld: lda)
        checkMatrix("gemmStridedBatched", "B", b, offset: bOffset + last * strideB,
                    rows: transB ? n : k, cols: transB ? k : n, ld: ldb)
        checkMatrix("gemmStridedBatched", "C", c, offset: cOffset + last * strideC, rows: m, cols: n, ld: ldc)
        let pa = a.cpuPointer + aOffset, pb = b.cpuPointer + bOffset, pc = c.cpuPointer + cOffset
        measure("gemmStridedBatched", flops: 2 * Double(m) * Double(n) * Double(k) * Double(batch)) {
            for i in 0 ..< batch {
                sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                      a: pa + i * strideA, lda: lda, b: pb + i * strideB, ldb: ldb,
                      beta: beta, c: pc + i * strideC, ldc: ldc)
            }
        }
    }
}
