import XCTest
import Compute
import CPUBackend

/// GEMM and strided-batched GEMM on sub-matrices (offsets, leading dimensions, both
/// transposes) against a naive triple loop. k ≤ 37 float products: abs 1e-5 + rel 1e-5.
final class CPUGemmTests: XCTestCase {
    let device = CPUDevice(threads: 2)

    /// Naive C = alpha·op(A)·op(B) + beta·C over the same storage conventions.
    private func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                       a: [Double], aOff: Int, lda: Int, b: [Double], bOff: Int, ldb: Int,
                       beta: Double, c: [Double], cOff: Int, ldc: Int) -> [Double] {
        var c = c
        for i in 0 ..< m { for j in 0 ..< n {
            var s = 0.0
            for p in 0 ..< k {
                let av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]
                let bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j]
                s += av * bv
            }
            c[cOff + i * ldc + j] = alpha * s + beta * c[cOff + i * ldc + j]
        } }
        return c
    }

    func testGemmAllTransposesWithOffsets() throws {
        var rng = RefRandom(seed: 1000)
        let m = 7, n = 11, k = 37
        for transA in [false, true] { for transB in [false, true] {
            let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5
            let aOff = 4, bOff = 1, cOff = 6
            let a = rng.values(aOff + (transA ? k : m) * lda), b = rng.values(bOff + (transB ? n : k) * ldb)
            let c = rng.values(cOff + m * ldc)
            let at = try device.tensor(a, [a.count]), bt = try device.tensor(b, [b.count]), ct = try device.tensor(c, [c.count])
            device.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: at, aOffset: aOff, lda: lda,
                        b: bt, bOffset: bOff, ldb: ldb, beta: -0.5, c: ct, cOffset: cOff, ldc: ldc)
            let ref = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: a, aOff: aOff, lda: lda,
                            b: b, bOff: bOff, ldb: ldb, beta: -0.5, c: c, cOff: cOff, ldc: ldc)
            assertClose(device.read(ct), ref, abs: 1e-5, rel: 1e-5, "gemm transA \(transA) transB \(transB)")
        } }
    }

    func testStridedBatchedGemm() throws {
        var rng = RefRandom(seed: 1001)
        let m = 5, n = 6, k = 4, batch = 3
        let sa = m * k + 2, sb = k * n + 1, sc = m * n + 3
        let a = rng.values(sa * batch), b = rng.values(sb * batch), c = rng.values(sc * batch)
        let at = try device.tensor(a, [a.count]), bt = try device.tensor(b, [b.count]), ct = try device.tensor(c, [c.count])
        device.gemmStridedBatched(transA: true, transB: false, m: m, n: n, k: k, alpha: 1,
                                  a: at, aOffset: 0, lda: m, strideA: sa, b: bt, bOffset: 0, ldb: n, strideB: sb,
                                  beta: 1, c: ct, cOffset: 0, ldc: n, strideC: sc, batch: batch)
        var ref = c
        for i in 0 ..< batch {
            ref = naive(transA: true, transB: false, m: m, n: n, k: k, alpha: 1, a: a, aOff: i * sa, lda: m,
                        b: b, bOff: i * sb, ldb: n, beta: 1, c: ref, cOff: i * sc, ldc: n)
        }
        assertClose(device.read(ct), ref, abs: 1e-5, rel: 1e-5, "strided batched gemm")
    }
}
