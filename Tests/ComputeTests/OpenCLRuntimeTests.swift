import Compute
import Foundation
@testable import OpenCLBackend
import XCTest

/// Discovery, program building, memory ops, GEMM and profiling of the OpenCL backend.
final class OpenCLRuntimeTests: XCTestCase {
    func testDeviceDiscoveryDescribesTheDevice() throws {
        let dev = try OpenCLTestDevice.get()
        let all = OpenCLRuntime.devices()
        XCTAssertEqual(all[dev.info.index].name, dev.info.name)
        XCTAssertFalse(dev.info.name.isEmpty)
        XCTAssertFalse(dev.info.platformName.isEmpty)
        XCTAssertGreaterThan(dev.info.computeUnits, 0)
        XCTAssertGreaterThan(dev.info.globalMemoryBytes, 0)
        XCTAssertGreaterThanOrEqual(dev.info.localMemoryBytes, 16 * 1024)
        XCTAssertGreaterThan(dev.info.maxWorkGroupSize, 0)
        XCTAssertTrue([DeviceKind.openCLGPU, .openCLCPU, .openCLOther].contains(dev.kind))
        XCTAssertThrowsError(try OpenCLDevice(index: all.count)) { error in
            guard case DeviceError.unavailable = error else { return XCTFail("unexpected \(error)") }
        }
    }

    func testEveryKernelFileBuildsAndBrokenSourceReportsTheLog() throws {
        let dev = try OpenCLTestDevice.get()
        try dev.buildAllPrograms()
        let broken = "__kernel void broken(__global float* x) { x[0] = undeclared_symbol_xyz; }"
        XCTAssertThrowsError(try dev.buildProgram(source: broken, name: "broken.cl")) { error in
            guard case DeviceError.kernelBuild(let file, let log) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(file, "broken.cl")
            XCTAssertTrue(log.contains("undeclared_symbol_xyz"), "build log should quote the compiler: \(log)")
            XCTAssertTrue(log.contains("CL_BUILD_PROGRAM_FAILURE"), log)
        }
    }

    func testFillCopyUploadDownload() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(1)
        let values = rng.values(1000)
        let t = try dev.tensor(values, shape: [10, 100])
        XCTAssertEqual(dev.read(t), values)
        let u = try dev.tensor(filledWith: 2.5, shape: [1000])
        XCTAssertEqual(dev.read(u), [Float](repeating: 2.5, count: 1000))
        dev.copy(t, srcOffset: 100, to: u, dstOffset: 10, count: 300)
        var want = [Float](repeating: 2.5, count: 1000)
        want.replaceSubrange(10..<310, with: values[100..<400])
        XCTAssertEqual(dev.read(u), want)
        // Overlapping copy inside one buffer behaves like memmove.
        dev.copy(t, srcOffset: 0, to: t, dstOffset: 5, count: 500)
        var moved = values
        moved.replaceSubrange(5..<505, with: values[0..<500])
        XCTAssertEqual(dev.read(t), moved)
    }

    func testBufferPoolReusesReleasedBuffers() throws {
        let dev = try OpenCLTestDevice.get()
        dev.trimPool()
        XCTAssertEqual(dev.pooledBytes, 0)
        var t: Tensor? = try dev.makeTensor([1000, 3])
        let capacity = t!.buffer.count
        XCTAssertTrue((3000...3750).contains(capacity), "bucket of 3000 elements is \(capacity)")
        t = nil
        XCTAssertEqual(dev.pooledBytes, capacity * 4, "a dropped tensor returns its buffer to the pool")
        let u = try dev.makeTensor([2900])  // same bucket: reused
        XCTAssertEqual(u.buffer.count, capacity)
        XCTAssertEqual(dev.pooledBytes, 0)
        dev.fill(u, value: 1)
        XCTAssertEqual(dev.read(u).count, 2900)
    }

    func testWarmUpCompilesGemmRoutines() throws {
        let dev = try OpenCLTestDevice.get()
        try dev.warmUp()
        var rng = TestRandom(5)
        let a = try dev.tensor(random: &rng, [512, 512]), c = try dev.makeTensor([512, 512])
        dev.gemm(transA: false, transB: true, m: 512, n: 512, k: 512, alpha: 1, a: a, aOffset: 0, lda: 512,
                 b: a, bOffset: 0, ldb: 512, beta: 0, c: c, cOffset: 0, ldc: 512)
        let av = dev.read(a), cv = dev.read(c)
        // Spot-check the Gram matrix a·aᵀ.
        for (i, j) in [(0, 0), (3, 500), (511, 7)] {
            var want = 0.0
            for l in 0..<512 {
                let u: Float = av[i * 512 + l], w: Float = av[j * 512 + l]
                want += Double(u) * Double(w)
            }
            XCTAssertEqual(Double(cv[i * 512 + j]), want, accuracy: 1e-3)
        }
    }

    func testGemmTransposesOffsetsAndIgnoresOldContentsWhenBetaIsZero() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(2)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 37, n = 29, k = 41
            let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5
            let a = rng.values(7 + lda * (ta ? k : m)), b = rng.values(4 + ldb * (tb ? n : k))
            var c = rng.values(2 + ldc * m)
            let ta_ = try dev.tensor(a, shape: [a.count]), tb_ = try dev.tensor(b, shape: [b.count])
            let tc = try dev.tensor(c, shape: [c.count])
            dev.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75, a: ta_, aOffset: 7, lda: lda,
                     b: tb_, bOffset: 4, ldb: ldb, beta: 0.5, c: tc, cOffset: 2, ldc: ldc)
            Reference.gemm(ta, tb, m, n, k, 0.75, a, 7, lda, b, 4, ldb, 0.5, &c, 2, ldc)
            expectClose(dev.read(tc), c, abs: 1e-5, rel: 1e-5, "gemm ta \(ta) tb \(tb)")
        }
        // beta == 0 must not propagate NaN from C's previous contents.
        let a = try dev.tensor(random: &rng, [4, 3]), b = try dev.tensor(random: &rng, [3, 5])
        let c = try dev.tensor(filledWith: .nan, shape: [4, 5])
        dev.gemm(transA: false, transB: false, m: 4, n: 5, k: 3, alpha: 1, a: a, aOffset: 0, lda: 3,
                 b: b, bOffset: 0, ldb: 5, beta: 0, c: c, cOffset: 0, ldc: 5)
        var want = [Float](repeating: 0, count: 20)
        Reference.gemm(false, false, 4, 5, 3, 1, dev.read(a), 0, 3, dev.read(b), 0, 5, 0, &want, 0, 5)
        expectClose(dev.read(c), want, abs: 1e-6, rel: 1e-5, "gemm beta 0 over NaN")
    }

    func testGemmStridedBatched() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(3)
        let m = 25, n = 25, k = 30, batch = 3
        let a = rng.values(batch * m * k + 10), b = rng.values(batch * k * n)
        var c = rng.values(batch * m * n)
        let ta = try dev.tensor(a, shape: [a.count]), tb = try dev.tensor(b, shape: [b.count])
        let tc = try dev.tensor(c, shape: [c.count])
        dev.gemmStridedBatched(transA: true, transB: false, m: m, n: n, k: k, alpha: 1, a: ta, aOffset: 10, lda: m,
                               strideA: m * k, b: tb, bOffset: 0, ldb: n, strideB: k * n, beta: 1,
                               c: tc, cOffset: 0, ldc: n, strideC: m * n, batch: batch)
        for i in 0..<batch {
            Reference.gemm(true, false, m, n, k, 1, a, 10 + i * m * k, m, b, i * k * n, n, 1, &c, i * m * n, n)
        }
        expectClose(dev.read(tc), c, abs: 1e-5, rel: 1e-5, "gemmStridedBatched")
        // beta == 0 ignores NaN in C here too.
        dev.fill(tc, value: .nan)
        dev.gemmStridedBatched(transA: true, transB: false, m: m, n: n, k: k, alpha: 1, a: ta, aOffset: 10, lda: m,
                               strideA: m * k, b: tb, bOffset: 0, ldb: n, strideB: k * n, beta: 0,
                               c: tc, cOffset: 0, ldc: n, strideC: m * n, batch: batch)
        var fresh = [Float](repeating: 0, count: c.count)
        for i in 0..<batch {
            Reference.gemm(true, false, m, n, k, 1, a, 10 + i * m * k, m, b, i * k * n, n, 0, &fresh, i * m * n, n)
        }
        expectClose(dev.read(tc), fresh, abs: 1e-5, rel: 1e-5, "gemmStridedBatched beta 0 over NaN")
    }

    func testProfilingRecordsKernelTimesWithFlops() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(4)
        let a = try dev.tensor(random: &rng, [64, 64]), b = try dev.tensor(random: &rng, [64, 64])
        let c = try dev.makeTensor([64, 64])
        dev.resetProfile()
        dev.profilingEnabled = true
        defer { dev.profilingEnabled = false; dev.resetProfile() }
        dev.gemm(transA: false, transB: false, m: 64, n: 64, k: 64, alpha: 1, a: a, aOffset: 0, lda: 64,
                 b: b, bOffset: 0, ldb: 64, beta: 0, c: c, cOffset: 0, ldc: 64)
        dev.reluForward(x: c, y: c)
        dev.reluForward(x: c, y: c)
        let profile = dev.profile()
        let gemm = try XCTUnwrap(profile.first { $0.op == "gemm" })
        XCTAssertEqual(gemm.calls, 1)
        XCTAssertEqual(gemm.flops, 2 * 64 * 64 * 64)
        XCTAssertGreaterThan(gemm.seconds, 0)
        let relu = try XCTUnwrap(profile.first { $0.op == "reluForward" })
        XCTAssertEqual(relu.calls, 2)
        XCTAssertGreaterThan(relu.bytes, 0)
        dev.resetProfile()
        XCTAssertTrue(dev.profile().isEmpty)

        // Per-kernel rows: a split-K GEMM shows its batched CLBlast call and the ordered sum.
        dev.profileKernels = true
        defer { dev.profileKernels = false }
        let k = 4096
        let x = try dev.tensor(random: &rng, [8, k]), y = try dev.tensor(random: &rng, [k, 8]), z = try dev.makeTensor([8, 8])
        XCTAssertGreaterThan(dev.splitKChunks(m: 8, n: 8, k: k), 1)
        dev.gemm(transA: false, transB: false, m: 8, n: 8, k: k, alpha: 1, a: x, aOffset: 0, lda: k,
                 b: y, bOffset: 0, ldb: 8, beta: 0, c: z, cOffset: 0, ldc: 8)
        dev.reluForward(x: z, y: z)
        let rows = Dictionary(uniqueKeysWithValues: dev.profile().map { ($0.op, $0) })
        XCTAssertEqual(rows["gemm"]?.calls, 1, "the op row keeps its call count and flops: \(rows.keys.sorted())")
        XCTAssertEqual(rows["gemm"]?.flops, 2 * 8 * 8 * Double(k))
        XCTAssertEqual(rows["gemm/CLBlastSgemmStridedBatched"]?.calls, 1)
        XCTAssertEqual(rows["gemm/splitk_sum"]?.calls, 1)
        XCTAssertGreaterThan(rows["gemm/splitk_sum"]?.seconds ?? 0, 0)
        let parts = rows.values.filter { $0.op.hasPrefix("gemm/") }.reduce(0) { $0 + $1.seconds }
        XCTAssertEqual(rows["gemm"]?.seconds ?? 0, parts, accuracy: 1e-9, "the op's time is the sum of its kernels'")
        XCTAssertEqual(rows["reluForward/relu_forward"]?.calls, 1, "\(rows.keys.sorted())")
    }
}
