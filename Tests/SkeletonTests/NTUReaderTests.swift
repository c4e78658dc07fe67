import Foundation
import XCTest
@testable import Skeleton

final class NTUReaderTests: XCTestCase {
    func testSixRawFilesReproduceGendataExactly() throws {
        let expected = try NpyArray.read(try Fixtures.path("ntu/expected/gendata_data.npy"), expecting: .float32)
        let json = try Fixtures.json("ntu/expected/gendata_label.json") as! [String: Any]
        let names = json["names"] as! [String], labels = json["labels"] as! [Int]
        let raw = try Fixtures.path("ntu/raw")
        let listed = try NTUSampleList.select(directory: raw, benchmark: .xsub, part: .train, ignored: []).files
            + NTUSampleList.select(directory: raw, benchmark: .xsub, part: .val, ignored: []).files
        XCTAssertEqual(Set(listed), Set(names))
        let frames = [103, 82, 70, 100, 71, 124]
        for (i, name) in names.enumerated() {
            let seq = try NTUSkeletonReader.read(path: raw + "/" + name)
            XCTAssertEqual(seq.frameCount, frames[i], name)
            XCTAssertEqual(NTUSampleName(name)?.label, labels[i])
            let got = seq.padded(to: 300), want = expected.floats(row: i)
            XCTAssertEqual(got.count, want.count)
            XCTAssertTrue(got == want, "\(name): max diff \(maxAbsDiff(got, want))")
        }
    }

    func testSampleNameParsing() {
        let n = NTUSampleName("S001C003P008R002A058.skeleton")
        XCTAssertEqual(n?.setup, 1); XCTAssertEqual(n?.camera, 3); XCTAssertEqual(n?.performer, 8)
        XCTAssertEqual(n?.replication, 2); XCTAssertEqual(n?.action, 58); XCTAssertEqual(n?.label, 57)
        XCTAssertEqual(n?.stem, "S001C003P008R002A058")
        XCTAssertNil(NTUSampleName("S001C003P008R002A05x.skeleton"))
        XCTAssertNil(NTUSampleName("readme.txt"))
        XCTAssertEqual(NTUSampleName("/a/b/S017C003P020R002A120")?.action, 120)
        XCTAssertTrue(NTUBenchmark.xset120.isTraining(NTUSampleName("S002C001P001R001A001")!))
        XCTAssertFalse(NTUBenchmark.xset120.isTraining(NTUSampleName("S003C001P001R001A001")!))
        XCTAssertTrue(NTUBenchmark.xsub120.isTraining(NTUSampleName("S020C001P103R001A001")!))
    }

    func testNTU60SplitCountsFromStatistics() throws {
        let names = try NTUSampleList.readNames(try Fixtures.path("ntu60_statistics/skes_available_name.txt"))
        let missing = try NTUSampleList.readNames(try Fixtures.path("ntu60_statistics/samples_with_missing_skeletons.txt"))
        XCTAssertEqual(names.count, 56578); XCTAssertEqual(missing.count, 302)
        XCTAssertTrue(Set(names).isDisjoint(with: missing))
        let parsed = names.compactMap(NTUSampleName.init)
        XCTAssertEqual(parsed.count, names.count)
        let xsub = parsed.filter { NTUBenchmark.xsub.isTraining($0) }.count
        let xview = parsed.filter { NTUBenchmark.xview.isTraining($0) }.count
        XCTAssertEqual([xsub, names.count - xsub], [40091, 16487])
        XCTAssertEqual([xview, names.count - xview], [37646, 18932])
        XCTAssertEqual(Set(parsed.map(\.label)), Set(0..<60))
    }

    func testSplitsJSONMembership() throws {
        let json = try Fixtures.json("ntu/expected/splits.json") as! [String: Any]
        let parts = json["parts"] as! [String: [String: Any]]
        let raw = try Fixtures.path("ntu/raw")
        for (key, info) in parts {
            let comps = key.split(separator: "/")
            let sel = try NTUSampleList.select(directory: raw, benchmark: NTUBenchmark(rawValue: String(comps[0]))!,
                                               part: DataPart(rawValue: String(comps[1]))!, ignored: [])
            XCTAssertEqual(sel.files, info["names"] as! [String], key)
        }
    }

    func testNTU60BenchmarksLeaveOutTheNTU120Additions() throws {
        let dir = try makeTempDir(self)
        let names = ["S001C002P001R001A001", "S017C003P002R002A060", "S018C002P001R001A001", "S005C001P001R001A061", "S020C001P045R001A100"]
        for n in names { FileManager.default.createFile(atPath: "\(dir)/\(n).skeleton", contents: Data()) }
        func both(_ b: NTUBenchmark) throws -> [String] {
            try DataPart.allCases.flatMap { try NTUSampleList.select(directory: dir, benchmark: b, part: $0, ignored: []).files }
        }
        XCTAssertEqual(try both(.xsub), ["S001C002P001R001A001.skeleton", "S017C003P002R002A060.skeleton"])
        XCTAssertEqual(try both(.xview), ["S001C002P001R001A001.skeleton", "S017C003P002R002A060.skeleton"])
        XCTAssertEqual(try both(.xsub120).count, 5)
        XCTAssertEqual(try NTUSampleList.select(directory: dir, benchmark: .xset120, part: .train, ignored: []).files,
                       ["S018C002P001R001A001.skeleton", "S020C001P045R001A100.skeleton"])
    }

    private func parseError(_ text: String) -> String {
        do { _ = try NTUSkeletonReader.parse(bytes: Array(text.utf8), name: "bad.skeleton"); return "no error" } catch { return "\(error)" }
    }

    func testMalformedFilesNameFileAndLine() {
        let joint = "0.1 0.2 0.3 1 2 3 4 0 0 0 0 2\r\n"
        let body = "72057594037931101 0 1 1 1 1 0 0.02 0.05 2\r\n25\r\n" + String(repeating: joint, count: 25)
        let good = "1\r\n1\r\n" + body
        XCTAssertEqual(parseError(good), "no error")
        XCTAssertEqual(parseError(""), "bad.skeleton:1: unexpected end of file, expected the frame count")
        XCTAssertEqual(parseError("2\r\n1\r\n" + body), "bad.skeleton:30: unexpected end of file, expected the body count of frame 2 of 2")
        XCTAssertEqual(parseError("1\r\n1\r\n72057594037931101 0 1 1 1 1 0 0.02 0.05 2\r\n24\r\n"),
                       "bad.skeleton:4: body 1 of frame 1 has 24 joints, expected 25")
        var lines = good.components(separatedBy: "\r\n"); lines[10] = "0.1 abc 0.3 1 2 3 4 0 0 0 0 2"
        XCTAssertEqual(parseError(lines.joined(separator: "\r\n")), "bad.skeleton:11: joint 7 y: 'abc' is not a number")
        lines = good.components(separatedBy: "\r\n"); lines[7] = "0.1 0.2"
        XCTAssertEqual(parseError(lines.joined(separator: "\r\n")), "bad.skeleton:8: joint line needs x y z (12 fields), found 2 fields")
        XCTAssertEqual(parseError("abc\r\n"), "bad.skeleton:1: frame count: 'abc' is not a non-negative integer")
        XCTAssertEqual(parseError("301\r\n"), "bad.skeleton:1: 301 frames exceed the maximum of 300")
        XCTAssertEqual(parseError("1\r\n1\r\n1 2 3\r\n"), "bad.skeleton:3: body info line of frame 1 needs 10 fields, found 3")
        // A cut in the middle of the joint lines (truncated download).
        let cut = String(good.prefix(good.count - 200))
        XCTAssertTrue(parseError(cut).hasPrefix("bad.skeleton:"), parseError(cut))
        XCTAssertThrowsError(try NTUSkeletonReader.read(path: "/nonexistent/x.skeleton")) { XCTAssertTrue("\($0)".contains("/nonexistent/x.skeleton")) }
    }

    func testThirdBodyIsDroppedAndZeroBodyFramesStayZero() throws {
        func body(_ v: Double) -> String {
            "1 0 1 1 1 1 0 0 0 2\n25\n" + String(repeating: "\(v) \(v) \(v) 1 2 3 4 0 0 0 0 2\n", count: 25)
        }
        let text = "2\n3\n" + body(1) + body(2) + body(3) + "0\n"
        let seq = try NTUSkeletonReader.parse(bytes: Array(text.utf8), name: "m.skeleton")
        XCTAssertEqual(seq.values[seq.index(0, 0, 5, 0)], 1); XCTAssertEqual(seq.values[seq.index(2, 0, 5, 1)], 2)
        XCTAssertFalse(seq.values.contains(3))
        XCTAssertEqual(seq.values[seq.index(1, 1, 0, 0)], 0)
    }
}
