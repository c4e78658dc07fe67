import Foundation
import XCTest
@testable import Skeleton

final class NpyTests: XCTestCase {
    func testRoundTripFloat32AndInt64() throws {
        let dir = try makeTempDir(self)
        let values: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }
        try NpyArray(shape: [2, 3, 4], floats: values).write(to: dir + "/a.npy")
        let a = try NpyArray(contentsOf: dir + "/a.npy")
        XCTAssertEqual(a.shape, [2, 3, 4]); XCTAssertEqual(a.dtype, .float32)
        XCTAssertEqual(a.floats(), values)
        XCTAssertEqual(a.floats(row: 1), Array(values[12..<24]))
        XCTAssertEqual(a.doubles().map(Float.init), values)

        try NpyArray(shape: [3, 1], int64s: [5, -2, 1 << 40]).write(to: dir + "/b.npy")
        let b = try NpyArray.read(dir + "/b.npy", expecting: .int64)
        XCTAssertEqual(b.int64s(), [5, -2, 1 << 40]); XCTAssertEqual(b.shape, [3, 1])
        XCTAssertThrowsError(try NpyArray.read(dir + "/b.npy", expecting: .float32))
        // Data starts on a 64-byte boundary, as NumPy writes it.
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.npy"))
        XCTAssertEqual((raw.count - 96) % 64, 0)
    }

    func testStreamingWriterFixesOuterCountAtFinish() throws {
        let dir = try makeTempDir(self)
        let w = try NpyWriter(path: dir + "/s.npy", dtype: .float32, shape: [0, 2, 2])
        try w.append(floats: [1, 2, 3, 4]); try w.append(floats: [5, 6, 7, 8]); try w.append(floats: [9, 10, 11, 12])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s.npy"), "file must appear only at finish")
        try w.finish(outerCount: 3)
        let a = try NpyArray(contentsOf: dir + "/s.npy")
        XCTAssertEqual(a.shape, [3, 2, 2]); XCTAssertEqual(a.floats(), (1...12).map(Float.init))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["s.npy"], "no temp file left")

        let bad = try NpyWriter(path: dir + "/t.npy", dtype: .float32, shape: [2, 2])
        try bad.append(floats: [1, 2, 3])
        XCTAssertThrowsError(try bad.finish()) { XCTAssertTrue("\($0)".contains("4 elements but 3")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/t.npy"))
    }

    func testVersion2And3HeadersAndFloat64() throws {
        let dir = try makeTempDir(self)
        for (major, descr) in [(UInt8(2), "<f8"), (UInt8(3), "<f8")] {
            let text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (3,), }"
            var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0]
            var body = Array(text.utf8); while (12 + body.count + 1) % 64 != 0 { body.append(0x20) }; body.append(0x0A)
            let n = body.count
            bytes += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), 0, 0] + body
            for v in [1.5, -2.25, 1e300] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            let p = dir + "/v\(major).npy"
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            let a = try NpyArray(contentsOf: p)
            XCTAssertEqual(a.dtype, .float64); XCTAssertEqual(a.doubles(), [1.5, -2.25, 1e300])
        }
    }

    func testMalformedHeadersGiveErrorsNamingTheFile() throws {
        let dir = try makeTempDir(self)
        func write(_ name: String, _ text: String, version: UInt8 = 1, data: Int = 0, magic: Bool = true) -> String {
            var bytes: [UInt8] = magic ? [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0] : Array("NOTNPY\u{1}\u{0}".utf8)
            let body = Array(text.utf8)
            bytes += [UInt8(body.count & 0xFF), UInt8(body.count >> 8)] + body + [UInt8](repeating: 0, count: data)
            let p = dir + "/" + name
            FileManager.default.createFile(atPath: p, contents: Data(bytes))
            return p
        }
        let cases: [(String, String)] = [
            (write("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: 8), "fortran_order True"),
            (write("big.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: 8), "unsupported dtype '>f4'"),
            (write("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: 8), "truncated .npy data"),
            (write("magic.npy", "{}", magic: false), "magic"),
            (write("ver.npy", "{}", version: 9), "unsupported .npy version 9.0"),
            (write("shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }"), "expected '(' for shape"),
            (write("nokey.npy", "{'descr': '<f4', 'shape': (2,), }", data: 8), "missing 'fortran_order'"),
        ]
        for (path, needle) in cases {
            XCTAssertThrowsError(try NpyArray(contentsOf: path)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(path), "error should name the file: \(text)")
                XCTAssertTrue(text.contains(needle), "expected '\(needle)' in: \(text)")
            }
        }
        // Truncated in the middle of the header text.
        let full = try Data(contentsOf: URL(fileURLWithPath: cases[0].0))
        let cut = dir + "/cut.npy"
        try full.prefix(20).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try NpyArray(contentsOf: cut)) { XCTAssertTrue("\($0)".contains("truncated .npy header")) }
        XCTAssertThrowsError(try NpyArray(contentsOf: dir + "/missing.npy")) { XCTAssertTrue("\($0)".contains("missing.npy")) }
    }

    func testReadsReferenceFixtures() throws {
        let a = try NpyArray(contentsOf: try Fixtures.path("ntu/expected/gendata_data.npy"))
        XCTAssertEqual(a.shape, [6, 3, 300, 25, 2]); XCTAssertEqual(a.dtype, .float32)
        let t = try NpyArray(contentsOf: try Fixtures.path("ntu/expected/txt2npy_S001C001P001R001A001_skel_body0.npy"))
        XCTAssertEqual(t.shape, [103, 25, 3]); XCTAssertEqual(t.dtype, .float64)
        // float32(txt2npy).transpose(2,0,1) == gendata[0, :, :103, :, 0]
        let g = a.floats(row: 0), d = t.doubles()
        for c in 0..<3 { for f in 0..<103 { for v in 0..<25 {
            XCTAssertEqual(g[((c * 300 + f) * 25 + v) * 2], Float(d[(f * 25 + v) * 3 + c]))
        } } }
        let l = try NpyArray(contentsOf: try Fixtures.path("ntu/expected/frame50_label.npy"))
        XCTAssertEqual(l.int64s(), [0, 10, 57, 2, 33, 16])
    }
}
