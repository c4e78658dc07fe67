import COpenCL
import Compute

/// GEMMs through CLBlast (row-major, element offsets). CLBlast compiles and caches its kernels
/// per context on first use of each routine.
extension OpenCLDevice {
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Tensor, aOffset: Int, lda: Int,
                     b: Tensor, bOffset: Int, ldb: Int,
                     beta: Float, c: Tensor, cOffset: Int, ldc: Int) {
        guard let cost = errors.check({
            try OpContract.gemm("gemm", transA: transA, transB: transB, m: m, n: n, k: k, a: a, aOffset: aOffset,
                                lda: lda, b: b, bOffset: bOffset, ldb: ldb, c: c, cOffset: cOffset, ldc: ldc)
        }) else { return }
        op("gemm", cost) {
            sgemm(transA, transB, m, n, k, alpha, mem(a), aOffset, lda, mem(b), bOffset, ldb, beta, mem(c), cOffset, ldc)
        }
    }

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
        guard batch > 0, m > 0, n > 0 else { return }
        op("gemmStridedBatched", cost) {
            if k == 0 {
                for i in 0..<batch { scaleMatrix(c, cOffset + i * strideC, m, n, ldc, beta) }
                return
            }
            guard !runtimeFailed else { return }
            let status = enqueueSpan("CLBlastSgemmStridedBatched") { event in CLBlastSgemmStridedBatched(
                CLBlastLayoutRowMajor, transA ? CLBlastTransposeYes : CLBlastTransposeNo,
                transB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
                mem(a), aOffset, lda, strideA, mem(b), bOffset, ldb, strideB, beta,
                mem(c), cOffset, ldc, strideC, batch, &queue, event) }
            checkBLAS(status, "CLBlastSgemmStridedBatched(m \(m), n \(n), k \(k), batch \(batch))")
        }
    }

    /// Compiles every kernel file and makes CLBlast compile its GEMM routines (a small and a
    /// large shape, which take its direct and indirect paths, and the strided-batched form),
    /// so the first training step is not spent in the OpenCL compiler.
    public func warmUp() throws {
        try buildAllPrograms()
        for n in [16, 512] {
            let a = try makeTensor([n * n]), b = try makeTensor([n * n]), c = try makeTensor([n * n])
            fill(a, value: 0); fill(b, value: 0)
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                gemm(transA: ta, transB: tb, m: n, n: n, k: n, alpha: 1, a: a, aOffset: 0, lda: n,
                     b: b, bOffset: 0, ldb: n, beta: 0, c: c, cOffset: 0, ldc: n)
            }
        }
        let a = try makeTensor([3 * 625]), c = try makeTensor([3 * 625])
        fill(a, value: 0)
        gemmStridedBatched(transA: false, transB: false, m: 25, n: 25, k: 25, alpha: 1, a: a, aOffset: 0, lda: 25,
                           strideA: 625, b: a, bOffset: 0, ldb: 25, strideB: 625, beta: 0, c: c, cOffset: 0,
                           ldc: 25, strideC: 625, batch: 3)
        synchronize()
    }

    /// One SGEMM on raw buffers (used by the ops as well as `gemm`): CLBlast, split along k
    /// where few output tiles meet a long inner dimension (`splitKChunks`).
    func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
               _ a: cl_mem, _ aOffset: Int, _ lda: Int, _ b: cl_mem, _ bOffset: Int, _ ldb: Int,
               _ beta: Float, _ c: cl_mem, _ cOffset: Int, _ ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            scaleMatrix(c, cOffset, m, n, ldc, beta)
            return
        }
        let chunks = splitKGEMM ? splitKChunks(m: m, n: n, k: k) : 1
        if chunks > 1 {
            splitKSgemm(transA, transB, m, n, k, chunks, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)
            return
        }
        clblastSgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)
    }

    /// Chunks of k for a split-K GEMM (1: no split). CLBlast's work-groups divide only m and n
    /// (tiles of about 64×64), so a weight gradient (m·n a few thousand, k = N·T·V in the hundreds
    /// of thousands) runs on a handful of compute units, each looping over all of k. Splitting
    /// aims at four work-groups per compute unit with chunks of at least `splitKMinimumChunk`.
    func splitKChunks(m: Int, n: Int, k: Int) -> Int {
        let tiles = ((m + 63) / 64) * ((n + 63) / 64)
        let wanted = (4 * max(info.computeUnits, 1) + tiles - 1) / tiles
        return max(1, min(wanted, k / splitKMinimumChunk))
    }

    /// C = alpha·Σ_s A_s·B_s + beta·C over `chunks` column blocks of A (row blocks of B): one
    /// strided-batched GEMM writes each block's product to its own scratch slot (the remainder
    /// of k, if any, goes through one more GEMM into a last slot), then `splitk_sum` adds the
    /// slots in a fixed order.
    private func splitKSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ chunks: Int,
                             _ alpha: Float, _ a: cl_mem, _ aOffset: Int, _ lda: Int,
                             _ b: cl_mem, _ bOffset: Int, _ ldb: Int,
                             _ beta: Float, _ c: cl_mem, _ cOffset: Int, _ ldc: Int) {
        let chunk = k / chunks, remainder = k - chunks * chunk
        // Element offset between consecutive k-blocks of A (m×k) and B (k×n), row-major.
        let strideA = transA ? chunk * lda : chunk
        let strideB = transB ? chunk : chunk * ldb
        let slots = chunks + (remainder > 0 ? 1 : 0)
        let partial = scratch(slots * m * n, "split-K GEMM")
        guard !runtimeFailed else { return }  // the scratch is a placeholder
        let status = enqueueSpan("CLBlastSgemmStridedBatched") { event in CLBlastSgemmStridedBatched(
            CLBlastLayoutRowMajor, transA ? CLBlastTransposeYes : CLBlastTransposeNo,
            transB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, chunk, 1,
            a, aOffset, lda, strideA, b, bOffset, ldb, strideB, 0,
            mem(partial), 0, n, m * n, chunks, &queue, event) }
        checkBLAS(status, "CLBlastSgemmStridedBatched(split-K: m \(m), n \(n), k \(chunk) × \(chunks))")
        if remainder > 0 {
            clblastSgemm(transA, transB, m, n, remainder, 1, a, aOffset + chunks * strideA, lda,
                         b, bOffset + chunks * strideB, ldb, 0, mem(partial), chunks * m * n, n)
        }
        launch(CLKernel.splitk_sum(.tensor(partial), .int(slots), .int(m), .int(n), .mem(c), .int(cOffset), .int(ldc),
                                   .float(alpha), .float(beta)), count: m * n)
    }

    private func clblastSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                              _ a: cl_mem, _ aOffset: Int, _ lda: Int, _ b: cl_mem, _ bOffset: Int, _ ldb: Int,
                              _ beta: Float, _ c: cl_mem, _ cOffset: Int, _ ldc: Int) {
        guard !runtimeFailed else { return }
        let status = enqueueSpan("CLBlastSgemm") { event in CLBlastSgemm(CLBlastLayoutRowMajor, transA ? CLBlastTransposeYes : CLBlastTransposeNo,
                                  transB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
                                  a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc,
                                  &queue, event) }
        checkBLAS(status, "CLBlastSgemm(m \(m), n \(n), k \(k), transA \(transA), transB \(transB))")
    }

    /// C = beta·C for an empty inner dimension (CLBlast rejects k == 0).
    private func scaleMatrix(_ c: Tensor, _ offset: Int, _ m: Int, _ n: Int, _ ldc: Int, _ beta: Float) {
        scaleMatrix(mem(c), offset, m, n, ldc, beta)
    }

    private func scaleMatrix(_ c: cl_mem, _ offset: Int, _ m: Int, _ n: Int, _ ldc: Int, _ beta: Float) {
        launch(CLKernel.scale_matrix(.mem(c), .int(offset), .int(m), .int(n), .int(ldc), .float(beta)), count: m * n)
    }

    private func checkBLAS(_ status: CLBlastStatusCode, _ call: String) {
        if status != CLBlastSuccess, recordsBLASFailures {
            // The tuner tries parameter sets CLBlast may fail to build or run; it skips those.
            if blasFailure == nil { blasFailure = "\(call) failed with \(clblastStatusName(status))" }
            return
        }
        if status != CLBlastSuccess {
            recordFailure(.backend(op: currentOp ?? "gemm", detail: "\(call) failed with \(clblastStatusName(status))"))
        }
    }
}
