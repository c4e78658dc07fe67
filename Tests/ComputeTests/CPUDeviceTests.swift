import XCTest
import Compute
import CPUBackend

/// Device plumbing: naming, memory, profiler, and the FMA peak helper.
final class CPUDeviceTests: XCTestCase {
    func testNameAndThreads() {
        let device = CPUDevice(threads: 2)
        XCTAssertEqual(device.threads, 2)
        XCTAssertEqual(device.kind, .cpu)
        XCTAssertTrue(CPUDevice.blasDescription.contains("OpenBLAS"), CPUDevice.blasDescription)
        XCTAssertTrue(device.name.hasPrefix("cpu (2 threads, OpenBLAS"), device.name)
        XCTAssertEqual(CPUDevice().threads, CPUInfo.cores)
    }

    /// On an AVX2 host OpenBLAS must not run its generic SSE3 kernels (5x slower SGEMM),
    /// whether it recognised the CPU itself or the backend chose the kernels for it.
    func testOpenBLASUsesVectorKernelsOnAVX2Hosts() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else {
            throw XCTSkip("OPENBLAS_CORETYPE is set; the user's choice stands")
        }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              flags.split(separator: " ").contains("avx2") else {
            throw XCTSkip("no AVX2 reported by /proc/cpuinfo")
        }
        _ = CPUDevice(threads: 1)
        let description = CPUDevice.blasDescription
        XCTAssertFalse(description.contains("Prescott"), description)
        XCTAssertFalse(description.contains("Katmai"), description)
    }

    func testUploadDownloadRoundTrip() throws {
        let device = CPUDevice(threads: 2)
        let values: [Float] = [1, -2, 3.5, .infinity, 0]
        let t = try device.tensor(values, shape: [5])
        XCTAssertEqual(device.read(t), values)
        XCTAssertThrowsError(try device.makeTensor([1 << 40, 1 << 20]))
    }

    func testProfilerRecordsOpsAndFlops() throws {
        let device = CPUDevice(threads: 2)
        let a = try device.tensor(filledWith: 1, shape: [16, 16])
        let c = try device.makeTensor([16, 16])
        device.gemm(transA: false, transB: false, m: 16, n: 16, k: 16, alpha: 1, a: a, aOffset: 0, lda: 16,
                    b: a, bOffset: 0, ldb: 16, beta: 0, c: c, cOffset: 0, ldc: 16)
        XCTAssertTrue(device.profile().isEmpty, "profiling is off by default")
        device.profilingEnabled = true
        for _ in 0 ..< 3 {
            device.gemm(transA: false, transB: false, m: 16, n: 16, k: 16, alpha: 1, a: a, aOffset: 0, lda: 16,
                        b: a, bOffset: 0, ldb: 16, beta: 0, c: c, cOffset: 0, ldc: 16)
        }
        device.reluForward(x: c, y: c)
        let timings = Dictionary(uniqueKeysWithValues: device.profile().map { ($0.op, $0) })
        XCTAssertEqual(timings["gemm"]?.calls, 3)
        XCTAssertEqual(timings["gemm"]?.flops, 3 * 2 * 16 * 16 * 16)
        XCTAssertGreaterThan(timings["gemm"]?.seconds ?? 0, 0)
        XCTAssertEqual(timings["reluForward"]?.calls, 1)
        device.resetProfile()
        XCTAssertTrue(device.profile().isEmpty)
        XCTAssertEqual(device.read(c).first, 16)
    }

    func testFMAPeakIsPositive() {
        XCTAssertGreaterThan(CPUInfo.cores, 0)
        XCTAssertGreaterThan(CPUInfo.measureFMAPeakGFLOPS(seconds: 0.05), 0)
    }
}
