import Foundation
import XCTest
@testable import Skeleton

final class PrepareTests: XCTestCase {
    func testMissingInputLeavesNoOutputFolder() throws {
        let dir = try makeTempDir(self)
        XCTAssertThrowsError(try DatasetPreparation.prepareNTU(rawDirectory: dir + "/absent", outputDirectory: dir + "/out",
                                                               benchmark: .xsub)) { error in
            XCTAssertTrue("\(error)".contains(dir + "/absent"), "\(error)")
        }
        XCTAssertThrowsError(try DatasetPreparation.preparePKU(skeletonDirectory: dir + "/absent", labelDirectory: dir,
                                                               splitFile: dir + "/split.txt", outputDirectory: dir + "/out2"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out2"))
    }

    func testPrepareNTUReproducesReferencePartsAndReportsBadFiles() throws {
        let raw = try Fixtures.path("ntu/raw")
        let gendata = try NpyArray.read(try Fixtures.path("ntu/expected/gendata_data.npy"))
        let frame50 = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_position.npy"))
        let allNames = (try Fixtures.json("ntu/expected/gendata_label.json") as! [String: Any])["names"] as! [String]
        let dir = try makeTempDir(self)
        let input = dir + "/raw", out = dir + "/out"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        for f in allNames { try FileManager.default.createSymbolicLink(atPath: input + "/" + f, withDestinationPath: raw + "/" + f) }
        // A truncated file (training subject 1) and a listed sample that must be ignored.
        let text = try String(contentsOfFile: raw + "/" + allNames[0], encoding: .utf8)
        try String(text.prefix(5000)).write(toFile: input + "/S001C002P001R001A001.skeleton", atomically: true, encoding: .utf8)
        try text.write(toFile: input + "/S001C002P001R001A002.skeleton", atomically: true, encoding: .utf8)
        try "S001C002P001R001A002\n".write(toFile: dir + "/missing.txt", atomically: true, encoding: .utf8)

        var finished: [DataPart: Int] = [:]
        let report = try DatasetPreparation.prepareNTU(rawDirectory: input, outputDirectory: out, benchmark: .xsub,
                                                       missingSkeletons: dir + "/missing.txt",
                                                       progress: { if $0.finished { finished[$0.part] = $0.skipped } })
        XCTAssertEqual(report.written[.train], 4); XCTAssertEqual(report.written[.val], 2); XCTAssertEqual(report.ignored, 1)
        // The bad training file counts for train only; val's line does not carry it over.
        XCTAssertEqual(finished, [.train: 1, .val: 0])
        XCTAssertEqual(report.skipped.count, 1)
        XCTAssertTrue(report.skipped[0].description.hasPrefix(input + "/S001C002P001R001A001.skeleton:"), report.skipped[0].description)
        XCTAssertTrue(report.summary.contains("skipped 1"))

        let parts = (try Fixtures.json("ntu/expected/splits.json") as! [String: Any])["parts"] as! [String: [String: Any]]
        for part in DataPart.allCases {
            let names = parts["xsub/\(part.rawValue)"]!["names"] as! [String]
            let labels = try LabelFile.read(out + "/\(part.rawValue)_label.pkl")
            XCTAssertEqual(labels.names, names)
            XCTAssertEqual(labels.labels, parts["xsub/\(part.rawValue)"]!["pkl_labels"] as! [Int])
            let pos = try NpyArray.read(out + "/\(part.rawValue)_position.npy", expecting: .float32)
            let data = try NpyArray.read(out + "/\(part.rawValue)_data.npy", expecting: .float32)
            XCTAssertEqual(pos.shape, [names.count, 3, 50, 25, 2]); XCTAssertEqual(data.shape, [names.count, 3, 300, 25, 2])
            for (i, n) in names.enumerated() {
                let ref = allNames.firstIndex(of: n)!
                XCTAssertTrue(data.floats(row: i) == gendata.floats(row: ref), n)
                XCTAssertLessThanOrEqual(maxAbsDiff(pos.floats(row: i), frame50.floats(row: ref)), 1e-5 + 1e-5 * 1.3, n) // abs 1e-5 + rel 1e-5 (|values| ≤ 1.3)
            }
        }
        // Only the final files remain: no temporaries.
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out)),
                       ["train_position.npy", "train_data.npy", "train_label.pkl", "val_position.npy", "val_data.npy", "val_label.pkl"])
    }

    func testPKUSkeletonLabelsAndCuts() throws {
        let skel = try Fixtures.path("pku/A10N08-L.txt")
        let seq = try PKUReader.readSkeleton(path: skel)
        XCTAssertEqual(seq.frameCount, 1040)
        let present = (0..<1040).filter { t in (0..<25).contains { v in (0..<3).contains { seq.values[seq.index($0, t, v, 1)] != 0 } } }.count
        XCTAssertEqual(present, 728)
        // First numbers of the file: -0.304560 0.212575 2.728912 (joint 1 of body 1, frame 1).
        XCTAssertEqual(seq.values[seq.index(0, 0, 0, 0)], Float(-0.304560))
        XCTAssertEqual(seq.values[seq.index(2, 0, 0, 0)], Float(2.728912))
        let z = (0..<1040).flatMap { t in (0..<25).map { seq.values[seq.index(2, t, $0, 0)] } } // body 1, every joint
        XCTAssertEqual(z.min()!, 1.76, accuracy: 0.01); XCTAssertEqual(z.max()!, 3.27, accuracy: 0.01)

        // A 400-frame action is centre-cropped to frames 150..<450; a short one is zero-padded.
        let long = PKUReader.cut(seq, action: PKUAction(classID: 3, start: 100, end: 500))
        XCTAssertEqual(long.frames, 300)
        XCTAssertEqual(long.values[((0 * 300 + 0) * 25 + 0) * 2], seq.values[seq.index(0, 150, 0, 0)])
        XCTAssertEqual(long.values[((1 * 300 + 299) * 25 + 7) * 2 + 1], seq.values[seq.index(1, 449, 7, 1)])
        let short = PKUReader.cut(seq, action: PKUAction(classID: 3, start: 10, end: 20), endInclusive: true)
        XCTAssertEqual(short.frames, 11)
        XCTAssertEqual(short.values[((2 * 300 + 10) * 25 + 3) * 2], seq.values[seq.index(2, 20, 3, 0)])
        XCTAssertEqual(short.values[((2 * 300 + 11) * 25 + 3) * 2], 0)

        // End to end with a label file and a split file.
        let dir = try makeTempDir(self)
        try FileManager.default.createDirectory(atPath: dir + "/skel", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/label", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/skel/A10N08-L.txt", withDestinationPath: skel)
        try "10,100,500,1\n2,600,700,1\n".write(toFile: dir + "/label/A10N08-L.txt", atomically: true, encoding: .utf8)
        try "Training videos:\nA10N08-L, A99N99-L\nValidation videos:\n\n".write(toFile: dir + "/split.txt", atomically: true, encoding: .utf8)
        let report = try DatasetPreparation.preparePKU(skeletonDirectory: dir + "/skel", labelDirectory: dir + "/label",
                                                       splitFile: dir + "/split.txt", outputDirectory: dir + "/out")
        XCTAssertEqual(report.written[.train], 2); XCTAssertEqual(report.written[.val], 0)
        XCTAssertEqual(report.skipped.count, 1); XCTAssertTrue(report.skipped[0].file.hasSuffix("A99N99-L.txt"))
        let labels = try LabelFile.read(dir + "/out/train_label.pkl")
        XCTAssertEqual(labels.labels, [9, 1]); XCTAssertEqual(labels.names, ["FA10N08VLC010L000", "FA10N08VLC002L001"])
        XCTAssertEqual(try NpyArray.read(dir + "/out/train_position.npy").shape, [2, 3, 50, 25, 2])
        XCTAssertEqual(try NpyArray.read(dir + "/out/val_position.npy").shape, [0, 3, 50, 25, 2])
    }

    func testPKUMalformedRowsNameTheLine() throws {
        let dir = try makeTempDir(self)
        let row = Array(repeating: "0.5", count: 150).joined(separator: " ")
        try "\(row)\n\(row.dropLast(4))\n".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PKUReader.readSkeleton(path: dir + "/a.txt")) {
            XCTAssertEqual("\($0)", "\(dir)/a.txt:2: expected 150 numbers (2 bodies × 25 joints × xyz), found 149")
        }
        try "1,2\n".write(toFile: dir + "/l.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PKUReader.readLabels(path: dir + "/l.txt")) { XCTAssertTrue("\($0)".hasPrefix("\(dir)/l.txt:1:")) }
    }

    func testProgressReportsEveryFileAndFramesOption() throws {
        let raw = try Fixtures.path("ntu/raw")
        let dir = try makeTempDir(self)
        var options = PrepareOptions()
        options.frame50.targetFrames = 30; options.writeRawArrays = false
        var seen: [PrepareProgress] = []
        let report = try DatasetPreparation.prepareNTU(rawDirectory: raw, outputDirectory: dir + "/out", benchmark: .xview,
                                                       options: options, progress: { seen.append($0) })
        let total = report.written.values.reduce(0, +)
        XCTAssertEqual(total, try FileManager.default.contentsOfDirectory(atPath: raw).filter { $0.hasSuffix(".skeleton") }.count)
        // One report per file plus one per finished part, in order, ending each part at done == total.
        XCTAssertEqual(seen.count, total + 2)
        for part in DataPart.allCases {
            let p = seen.filter { $0.part == part }
            XCTAssertEqual(p.map(\.done), Array(1...p[0].total) + [p[0].total])
            XCTAssertEqual(p.last!.finished, true); XCTAssertEqual(p.last!.written, report.written[part])
            XCTAssertEqual(p.dropLast().filter(\.finished).count, 0)
        }
        XCTAssertEqual(try NpyArray.read(dir + "/out/train_position.npy").shape, [report.written[.train]!, 3, 30, 25, 2])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/train_data.npy"))
    }

    func testProgressLine() {
        var p = PrepareProgress(part: .train, done: 250, total: 1000, written: 249, skipped: 1, unit: "files")
        XCTAssertEqual(p.line(elapsedSeconds: 0), "train: 250/1000 files (25.0%), 249 written, 1 skipped")
        // 100 files/s: 750 left take 7.5 s, rounded to 8 s; 95 s print as minutes.
        XCTAssertEqual(p.line(elapsedSeconds: 2.5), "train: 250/1000 files (25.0%), 249 written, 1 skipped, 100/s, ETA 8s")
        p.total = 9750
        XCTAssertTrue(p.line(elapsedSeconds: 2.5).hasSuffix("ETA 1m35s"), p.line(elapsedSeconds: 2.5))
        p.done = 9750; p.finished = true
        XCTAssertTrue(p.line(elapsedSeconds: 3).hasSuffix("3250/s, 3.0s"), p.line(elapsedSeconds: 3))
    }

    func testPreparationRejectsUnusableInputsByName() throws {
        let dir = try makeTempDir(self)
        try "x".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DatasetPreparation.prepareNTU(rawDirectory: dir, outputDirectory: dir + "/out", benchmark: .xsub)) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir): no .skeleton files"), "\($0)")
        }
        XCTAssertThrowsError(try DatasetPreparation.prepareNTU(rawDirectory: dir + "/absent", outputDirectory: dir + "/out", benchmark: .xsub)) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/absent: cannot list"), "\($0)")
        }
        try "x".write(toFile: dir + "/a.skeleton", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DatasetPreparation.prepareNTU(rawDirectory: dir, outputDirectory: dir + "/notes.txt/out", benchmark: .xsub)) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/notes.txt/out: cannot create the output folder"), "\($0)")
        }
        XCTAssertThrowsError(try DatasetPreparation.preparePKU(skeletonDirectory: dir, labelDirectory: dir + "/labels",
                                                               splitFile: dir + "/split.txt", outputDirectory: dir + "/out")) {
            XCTAssertEqual("\($0)", "\(dir)/labels: no such label directory")
        }
        // A bad name is reported, and with no listed file left both parts are written empty.
        let report = try DatasetPreparation.prepareNTU(rawDirectory: dir, outputDirectory: dir + "/out", benchmark: .xsub)
        XCTAssertEqual(report.skipped.map(\.description), ["\(dir)/a.skeleton: name does not follow SsssCcccPpppRrrrAaaa"]); XCTAssertEqual(report.written[.train], 0)
    }
}
