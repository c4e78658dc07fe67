import Foundation
import XCTest
@testable import Skeleton

final class FileSummaryTests: XCTestCase {
    func testNpyStatisticsAndSkeletonCounts() throws {
        let dir = try makeTempDir(self)
        // Two samples (3, T=2, V=1, M=2): sample 0 has a second body in frame 1, sample 1 has a NaN and one empty frame.
        var x = [Float](repeating: 0, count: 2 * 3 * 2 * 1 * 2)
        x[0] = 1; x[3] = -2; x[5] = 4      // sample 0: (c0,t0,b0), (c0,t1,b1), (c1,t0,b1)
        x[12] = 3; x[16] = .nan             // sample 1: frame 0 only (the NaN is body 1, channel 1)
        try NpyArray(shape: [2, 3, 2, 1, 2], floats: x).write(to: dir + "/a.npy")
        let st = ArrayStatistics(try NpyArray.read(dir + "/a.npy"), chunk: 5) // chunks that split the array unevenly
        XCTAssertEqual(st.count, 24); XCTAssertEqual(st.nanCount, 1); XCTAssertEqual(st.infinityCount, 0)
        XCTAssertEqual(st.min, -2); XCTAssertEqual(st.max, 4); XCTAssertEqual(st.mean, 6.0 / 23, accuracy: 1e-12)
        XCTAssertEqual(st.zeroCount, 19)
        let lines = try FileSummary.describe(path: dir + "/a.npy")
        XCTAssertTrue(lines[1].contains("shape [2, 3, 2, 1, 2], dtype <f4"), lines[1])
        XCTAssertTrue(lines[2].contains("NaN 1"), lines[2])
        XCTAssertTrue(lines[3].contains("2 samples, 2 frames, 1 joints, 2 body slots; 1 samples with a second body, 1.5 non-empty frames"), lines[3])
        // Sniffed by magic when the extension is unknown.
        try FileManager.default.copyItem(atPath: dir + "/a.npy", toPath: dir + "/a.bin")
        XCTAssertEqual(try FileSummary.describe(path: dir + "/a.bin").dropFirst(), lines.dropFirst())
    }

    func testLabelFileAndOtherPickles() throws {
        let dir = try makeTempDir(self)
        try LabelFile(names: ["a", "b", "c", "d"], labels: [2, 0, 2, 5]).write(to: dir + "/l.pkl")
        let lines = try FileSummary.describe(path: dir + "/l.pkl")
        XCTAssertEqual(lines.dropFirst(), ["  4 samples, 3 classes", "  labels 0 to 5, samples per class: min 1, max 2",
                                           "  first names: a, b, c, d"])
        // A pickled int (protocol 2: PROTO 2, BININT1 7, STOP) is shown as a value.
        FileManager.default.createFile(atPath: dir + "/v.pkl", contents: Data([0x80, 0x02, 0x4B, 0x07, 0x2E]))
        XCTAssertEqual(try FileSummary.describe(path: dir + "/v.pkl"), ["\(dir)/v.pkl: pickle (not a label file)", "  7"])
    }

    func testSafetensorsHeader() throws {
        let dir = try makeTempDir(self)
        let header = #"{"b.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]},"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
        bytes += Array(header.utf8) + [UInt8](repeating: 0, count: 32)
        FileManager.default.createFile(atPath: dir + "/m.safetensors", contents: Data(bytes))
        XCTAssertEqual(try FileSummary.describe(path: dir + "/m.safetensors"), [
            "\(dir)/m.safetensors: safetensors, 2 tensors", "  a  I64  [1]", "  b.weight  F32  [2, 3]",
            "  7 elements in all", "  metadata: format=pt"])
        FileManager.default.createFile(atPath: dir + "/bad.safetensors", contents: Data([0xFF, 0, 0, 0, 0, 0, 0, 0, 1]))
        XCTAssertThrowsError(try FileSummary.describe(path: dir + "/bad.safetensors")) {
            XCTAssertEqual("\($0)", "\(dir)/bad.safetensors: header length 255 does not fit in a 9-byte file")
        }
    }

    func testErrorsNameTheFile() throws {
        let dir = try makeTempDir(self)
        XCTAssertThrowsError(try FileSummary.describe(path: dir + "/none.npy")) { XCTAssertEqual("\($0)", "\(dir)/none.npy: no such file") }
        XCTAssertThrowsError(try FileSummary.describe(path: dir)) { XCTAssertEqual("\($0)", "\(dir): is a directory; name one file") }
        try "hello".write(toFile: dir + "/t.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FileSummary.describe(path: dir + "/t.txt")) { XCTAssertTrue("\($0)".hasPrefix("\(dir)/t.txt: unknown file type")) }
        try "hello".write(toFile: dir + "/t.npy", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FileSummary.describe(path: dir + "/t.npy")) { XCTAssertTrue("\($0)".hasPrefix("\(dir)/t.npy:")) }
    }

    func testSkeletonRecording() throws {
        let f = try Fixtures.path("ntu/raw/S001C001P001R001A001.skeleton")
        let lines = try FileSummary.describe(path: f)
        let seq = try NTUSkeletonReader.read(path: f)
        XCTAssertEqual(lines[1], "  \(seq.frameCount) frames, 25 joints, second body in 0 frames")
        XCTAssertEqual(lines[2], "  setup 1, camera 1, performer 1, replication 1, action 1 (label 0)")
    }
}
