import CPUBackend
import Compute
import Foundation
import XCTest
@testable import OpenCLBackend

/// The GEMM tuning cache: its file format and error handling, and a device that applies an
/// entry still computing what the CPU backend computes.
final class OpenCLTuningCacheTests: XCTestCase {
    func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "aimclr-tuning-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func entry(device: String = "dev", driver: String = "1.0", shapeClass: String = "indirect", kernel: String = "Xgemm",
               parameters: [String: Int] = ["MWG": 64]) -> GEMMTuningCache.Entry {
        GEMMTuningCache.Entry(device: device, driver: driver, clblast: GEMMTuningCache.clblastVersion, shapeClass: shapeClass,
                              kernel: kernel, parameters: parameters, defaultSeconds: 2, tunedSeconds: 1,
                              maxRelativeDifference: 1e-7, batch: 1, shapes: ["NN 2x2x2"], candidates: 3, date: "2026-01-01T00:00:00Z")
    }

    func testCacheFileRoundTripReplacesSameKeyAndRejectsBrokenFiles() throws {
        let dir = try folder(), path = dir + "/sub/cache.json"
        XCTAssertNil(try GEMMTuningCache.load(path: path), "no file: no cache")
        var cache = GEMMTuningCache()
        cache.store(entry(parameters: ["MWG": 32]))
        cache.store(entry(device: "other"))
        cache.store(entry(parameters: ["MWG": 128]))  // same key as the first: replaces it
        try cache.save(path: path)
        let loaded = try XCTUnwrap(try GEMMTuningCache.load(path: path))
        XCTAssertEqual(loaded, cache)
        XCTAssertEqual(loaded.entries.count, 2)
        XCTAssertEqual(loaded.entries.first { $0.device == "dev" }?.parameters["MWG"], 128)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/sub"), ["cache.json"], "no temporary file left")

        for (text, expected) in [("{not json", "not a valid cache"), ("{\"version\": 1}", "missing field 'entries'"),
                                 ("{\"version\": 2, \"entries\": []}", "version 2")] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try GEMMTuningCache.load(path: path)) { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        var mismatched = GEMMTuningCache()
        mismatched.store(entry(shapeClass: "direct", kernel: "Xgemm"))
        try mismatched.save(path: path)
        XCTAssertThrowsError(try GEMMTuningCache.load(path: path)) { XCTAssertTrue("\($0)".contains("direct"), "\($0)") }

        XCTAssertNil(GEMMTuningCache.defaultPath(environment: ["AIMCLR_TUNING_CACHE": "none"]))
        XCTAssertEqual(GEMMTuningCache.defaultPath(environment: ["AIMCLR_TUNING_CACHE": "/x/c.json"]), "/x/c.json")
        XCTAssertEqual(GEMMTuningCache.defaultPath(environment: ["HOME": "/h"]), "/h/.cache/aimclr/clblast-tuning.json")
    }

    /// A device opened with a cache entry for it runs CLBlast with those Xgemm parameters, and a
    /// GEMM large enough for the Xgemm path still matches the CPU backend.
    func testAppliedEntryChangesXgemmAndKeepsParityWithCPU() throws {
        let shared = try OpenCLTestDevice.get()
        let defaults = try shared.clblastParameters(kernel: "Xgemm")
        let threshold = try shared.clblastParameters(kernel: "GemmRoutine")["XGEMM_MIN_INDIRECT_SIZE"] ?? 384
        let candidate = try XCTUnwrap(GEMMParameterGrid.candidates(kernel: "Xgemm", defaults: defaults, info: shared.info).first)
        XCTAssertNotEqual(candidate, defaults)
        // Leave CLBlast as found for the other tests of this process.
        defer { try? shared.overrideCLBlastParameters(kernel: "Xgemm", defaults) }

        let path = try folder() + "/cache.json"
        var cache = GEMMTuningCache()
        cache.store(entry(device: shared.info.name, driver: shared.info.driverVersion, parameters: candidate))
        cache.store(entry(device: shared.info.name, driver: "another driver", parameters: defaults))
        try cache.save(path: path)
        let d = try OpenCLDevice(index: shared.info.index, tuningCache: path)
        XCTAssertEqual(d.appliedTuning.map(\.driver), [shared.info.driverVersion], "only this driver's entry applies")
        XCTAssertEqual(try d.clblastParameters(kernel: "Xgemm"), candidate)

        // m·n·k above CLBlast's direct threshold, odd sizes (padding in the indirect path).
        let m = threshold + 3, n = threshold + 5, k = threshold + 7
        var rng = TestRandom(11)
        let a = rng.values(m * k), b = rng.values(k * n)
        let cpu = CPUDevice(threads: 2)
        func product(_ dev: Device) throws -> [Float] {
            let ta = try dev.tensor(a, shape: [m * k]), tb = try dev.tensor(b, shape: [k * n]), tc = try dev.makeTensor([m * n])
            dev.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ta, aOffset: 0, lda: k,
                     b: tb, bOffset: 0, ldb: n, beta: 0, c: tc, cOffset: 0, ldc: n)
            return dev.read(tc)
        }
        let ours = try product(d), reference = try product(cpu)
        XCTAssertNil(d.takeError())
        let scale = reference.map(abs).max() ?? 1
        let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst / scale, 1e-5, "tuned Xgemm vs CPU backend, relative to max |C|")
    }
}
