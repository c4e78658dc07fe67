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

extension CPUDevice {
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Tensor, aOffset: Int, lda: Int,
                     b: Tensor, bOffset: Int, ldb: Int,
                     beta: Float, c: Tensor, cOffset: Int, ldc: Int) {
        guard let cost = errors.check({
            try OpContract.gemm("gemm", transA: transA, transB: transB, m: m, n: n, k: k, a: a, aOffset: aOffset,
                                lda: lda, b: b, bOffset: bOffset, ldb: ldb, c: c, cOffset: cOffset, ldc: ldc)
        }) else { return }
        let pa = a.cpuPointer + aOffset, pb = b.cpuPointer + bOffset, pc = c.cpuPointer + cOffset
        measure("gemm", cost) {
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
        guard let cost = errors.check({
            try OpContract.gemm("gemmStridedBatched", transA: transA, transB: transB, m: m, n: n, k: k, a: a,
                                aOffset: aOffset, lda: lda, strideA: strideA, b: b, bOffset: bOffset, ldb: ldb,
                                strideB: strideB, c: c, cOffset: cOffset, ldc: ldc, strideC: strideC, batch: batch)
        }) else { return }
        guard batch > 0 else { return }
        let pa = a.cpuPointer + aOffset, pb = b.cpuPointer + bOffset, pc = c.cpuPointer + cOffset
        measure("gemmStridedBatched", cost) {
            for i in 0 ..< batch {
                sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                      a: pa + i * strideA, lda: lda, b: pb + i * strideB, ldb: ldb,
                      beta: beta, c: pc + i * strideC, ldc: ldc)
            }
        }
    }
}

extension CPUDevice {
    /// Runs `body` with OpenBLAS on one thread, for GEMMs that our own workers issue in
    /// parallel (each on its own part of the output): the cores are then busy with our
    /// workers, and OpenBLAS's threads would only oversubscribe them. Restores the device's
    /// thread count afterwards. A GEMM's result does not depend on OpenBLAS's thread count
    /// (its threads split the output, never the sum over k).
    func withSingleThreadedBLAS(_ body: () -> Void) {
        guard threads > 1, !blasPinnedToOneThread else { body(); return }
        openblas_set_num_threads(1)
        blasPinnedToOneThread = true
        defer {
            blasPinnedToOneThread = false
            openblas_set_num_threads(Int32(threads))
        }
        body()
    }

    /// `sgemm` with the output split between our workers (rows of C when it has more rows than
    /// columns, else columns), each running single-threaded OpenBLAS on its part. Same result
    /// as one call: every element of C is the same sum over k.
    ///
    /// Used for the convolutions' big GEMMs: OpenBLAS's own threads spin and yield while they
    /// wait for each other, which costs dearly when the cores are shared; our workers block.
    func sgemmParallel(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let work = Double(m) * Double(n) * Double(max(k, 1))
        guard threads > 1, work >= Double(1 << 20), max(m, n) >= 64 else {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        withSingleThreadedBLAS {
            parallelChunks(threads, threads: threads) { worker, _ in
                let parts = threads
                if m >= n {
                    let r0 = m * worker / parts, r1 = m * (worker + 1) / parts
                    sgemm(transA: transA, transB: transB, m: r1 - r0, n: n, k: k, alpha: alpha,
                          a: transA ? a + r0 : a + r0 * lda, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c + r0 * ldc, ldc: ldc)
                } else {
                    // Column splits on multiples of 16 keep the kernels' full-width paths.
                    let c0 = worker == 0 ? 0 : (n * worker / parts) & ~15
                    let c1 = worker == parts - 1 ? n : (n * (worker + 1) / parts) & ~15
                    sgemm(transA: transA, transB: transB, m: m, n: c1 - c0, k: k, alpha: alpha,
                          a: a, lda: lda, b: transB ? b + c0 * ldb : b + c0, ldb: ldb,
                          beta: beta, c: c + c0, ldc: ldc)
                }
            }
        }
    }
}

extension CPUDevice {
    /// C(m×n) = alpha·op(A)·op(B) + beta·C for the weight-gradient shapes: a small output and a
    /// long sum (k in the hundreds of thousands: every position of a batch).
    ///
    /// OpenBLAS threads a GEMM by splitting the output and synchronises its threads once per
    /// k-block, so with a 25×25 or 48×16 output it spends its time waiting (a few GFLOP/s).
    /// Here each worker sums a contiguous slice of k on its own with single-threaded OpenBLAS,
    /// and the partial products are added in worker order (deterministic for a thread count).
    func sgemmLongK(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let parts = min(threads, k / longKMinimumPerWorker)
        guard parts > 1, m * n <= longKMaximumOutput else {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let partial = reductionScratch.floats(parts * m * n)
        withSingleThreadedBLAS {
            parallelChunks(parts, threads: parts) { worker, _ in
                let k0 = k * worker / parts, k1 = k * (worker + 1) / parts
                // op(A) = A (m×k): columns k0..<k1; op(A) = Aᵀ, A (k×m): rows k0..<k1. Likewise B.
                let pa = transA ? a + k0 * lda : a + k0
                let pb = transB ? b + k0 : b + k0 * ldb
                sgemm(transA: transA, transB: transB, m: m, n: n, k: k1 - k0, alpha: alpha,
                      a: pa, lda: lda, b: pb, ldb: ldb, beta: 0, c: partial + worker * m * n, ldc: n)
            }
        }
        for i in 0 ..< m {
            let row = c + i * ldc
            for j in 0 ..< n {
                var s = partial[i * n + j]
                for w in 1 ..< parts { s += partial[(w * m + i) * n + j] }
                row[j] = beta == 0 ? s : beta * row[j] + s
            }
        }
    }
}

/// A long-k GEMM splits only when each worker gets at least this much of the sum...
private let longKMinimumPerWorker = 4096
/// ...and only when the output is small (larger outputs keep OpenBLAS busy on their own).
private let longKMaximumOutput = 1 << 16
