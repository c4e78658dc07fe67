import Foundation
import TestSupport
import XCTest
@testable import Skeleton

/// The shared Kinect v1 archives, unpacked once per test process with `tar` (removed at exit).
enum KinectV1Fixtures {
    nonisolated(unsafe) private static var unpacked: [String: String] = [:]
    private static let lock = NSLock()

    /// The folder `member` of `archive` (relative to the fixture root), unpacked on first use.
    static func folder(archive: String, member: String) throws -> String {
        let path = try Fixtures.path(archive)
        lock.lock(); defer { lock.unlock() }
        if let done = unpacked[archive] { return done + "/" + member }
        let dir = ScratchPaths.make("kinect-v1-fixture").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xJf", path, "-C", dir]
        try tar.run(); tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw XCTSkip("cannot unpack \(path) with /usr/bin/tar (status \(tar.terminationStatus))") }
        unpacked[archive] = dir
        return dir + "/" + member
    }

    static func msr() throws -> String { try folder(archive: "msr_action3d/msr_action3d_real3d.tar.xz", member: "msr_action3d_real3d") }
    static func utkinect() throws -> String { try folder(archive: "utkinect/utkinect_action3d.tar.xz", member: "utkinect_action3d") }
}

/// x y z of every non-blank line of a text file, read independently of the library's scanner
/// (columns `skip ..< skip + 3`), rounded as the readers do: `Float(Double(token))`.
/// Offset of (channel, frame, joint) of body 0 in a `(3, frames, joints, 2)` sample.
func ix(_ c: Int, _ t: Int, _ j: Int, frames: Int, joints: Int) -> Int { ((c * frames + t) * joints + j) * 2 }

func rawTriples(_ path: String, skip: Int = 0) throws -> [[Float]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
        let t = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        return t.isEmpty ? nil : t[skip..<(skip + 3)].map { Float(Double(String($0))!) }
    }
}

final class KinectV1PrepareTests: XCTestCase {
    /// MSR stores its joints in its own order: the reader must put them in the SDK order.
    func testMSRReaderReordersToTheKinectSDKOrder() throws {
        let dir = try KinectV1Fixtures.msr()
        let path = dir + "/a01_s01_e01_skeleton3D.txt"
        let lines = try rawTriples(path)
        let r = try MSRAction3DReader.read(path: path)
        XCTAssertEqual(lines.count % 20, 0)
        XCTAssertEqual(r.frameCount, lines.count / 20)
        // Frame 1 of the file: line 1 is the left shoulder, line 7 the hip centre, line 20 the head.
        XCTAssertEqual(r.joint(4, frame: 0), [-0.371736, 0.371031, 2.674849])
        XCTAssertEqual(r.joint(0, frame: 0), [-0.189501, 0.002549, 2.759828])
        XCTAssertEqual(r.joint(3, frame: 0), [-0.182593, 0.659618, 2.547210])
        // Every joint of the first and last frame, by the README's table (MSR 1-based → SDK).
        let msrOfSDK = [7, 4, 3, 20, 1, 8, 10, 12, 2, 9, 11, 13, 5, 14, 16, 18, 6, 15, 17, 19]
        for t in [0, r.frameCount - 1] {
            for j in 0..<20 { XCTAssertEqual(r.joint(j, frame: t), lines[t * 20 + msrOfSDK[j] - 1], "frame \(t) joint \(j)") }
        }

        // Independent of the table: in the SDK order the kinect-v1 bones are short and the body
        // stands upright; in the file's order the same "bones" join unrelated joints.
        let parent = SkeletonLayout.kinectV1.boneParent
        for name in ["a01_s01_e01", "a13_s02_e02", "a16_s05_e03", "a20_s07_e01"] {
            let seq = try MSRAction3DReader.read(path: dir + "/\(name)_skeleton3D.txt").droppingUntrackedFrames().recording
            let raw = try rawTriples(dir + "/\(name)_skeleton3D.txt")
            func meanBoneSum(_ p: (Int, Int) -> [Float]) -> Float {
                var total: Float = 0
                for t in 0..<seq.frameCount { for v in 0..<20 {
                    let a = p(t, v), b = p(t, parent[v])
                    total += ((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2])).squareRoot()
                } }
                return total / Float(seq.frameCount)
            }
            let ordered = meanBoneSum { seq.joint($1, frame: $0) }
            let tracked = (0..<(raw.count / 20)).filter { t in !(0..<20).contains { raw[t * 20 + $0] == [0, 0, 0] } }
            let fileOrder = meanBoneSum { raw[tracked[$0] * 20 + $1] }
            XCTAssertLessThan(ordered, 6, name); XCTAssertLessThan(ordered, 0.65 * fileOrder, "\(name): \(ordered) vs \(fileOrder)")
            let upright = (0..<seq.frameCount).filter { seq.joint(2, frame: $0)[1] > seq.joint(0, frame: $0)[1] && seq.joint(3, frame: $0)[1] > seq.joint(0, frame: $0)[1] }
            XCTAssertGreaterThanOrEqual(Double(upright.count), 0.9 * Double(seq.frameCount), name)
        }
    }

    /// The whole MSR set: README section 8's split and counts, labels, centring on the shoulder
    /// centre, and the first output frame against the file's text.
    func testPrepareMSRCrossSubjectFromTheArchive() throws {
        let archive = try Fixtures.path("msr_action3d/msr_action3d_real3d.tar.xz")
        let dir = try makeTempDir(self)
        var options = PrepareOptions(); options.writeRawArrays = false
        let report = try DatasetPreparation.prepareMSRAction3D(input: archive, outputDirectory: dir, options: options)
        XCTAssertEqual(report.written, [.train: 291, .val: 275])
        // The all-zero sequence is skipped, named inside the archive.
        XCTAssertEqual(report.skipped.count, 1)
        XCTAssertTrue(report.skipped[0].description.hasPrefix(archive + "/msr_action3d_real3d/a13_s09_e02_skeleton3D.txt: no tracked frame"),
                      report.skipped[0].description)
        XCTAssertGreaterThan(report.droppedFrames, 740) // a13_s09_e03 alone has 740 untracked frames
        // a13_s09_e03: 936 frames of which 196 are tracked, the longest training sequence.
        XCTAssertEqual(report.statistics[.train]?.maxFrames, 196)
        XCTAssertEqual(report.statistics[.train]?.classes, 20); XCTAssertEqual(report.statistics[.val]?.classes, 20)
        let classNames = try String(contentsOfFile: dir + "/class_names.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(classNames.count, 20); XCTAssertEqual(classNames[12], "bend"); XCTAssertEqual(classNames[19], "pick up & throw") // a13, a20

        let msr = try KinectV1Fixtures.msr()
        for part in DataPart.allCases {
            let labels = try LabelFile.read(dir + "/\(part.rawValue)_label.pkl")
            let pos = try NpyArray.read(dir + "/\(part.rawValue)_position.npy", expecting: .float32)
            XCTAssertEqual(pos.shape, [labels.names.count, 3, 50, 20, 2])
            XCTAssertEqual(labels.names, labels.names.sorted())
            for (n, l) in zip(labels.names, labels.labels) {
                let name = try XCTUnwrap(MSRSampleName(n + "_skeleton3D.txt"))
                XCTAssertEqual(name.subject % 2 == 1, part == .train, n)
                XCTAssertEqual(l, name.action - 1, n)
            }
            XCTAssertEqual(Set(labels.labels), Set(0..<20))
            // Centred on the shoulder centre (joint 2); the second body slot is empty.
            let all = pos.floats()
            for i in stride(from: 0, to: all.count, by: 40) { XCTAssertEqual(all[i + 2 * 2], 0) } // joint 2, body 0
            XCTAssertEqual(stride(from: 1, to: all.count, by: 2).map { abs(all[$0]) }.max(), 0)
        }
        // a01_s01_e02 has 43 frames, none untracked; from fewer than 50 frames the resize's
        // first output frame is file frame 0 exactly. It is centred on the shoulder centre and
        // rotated about y: y is unchanged and the distance from the y axis is kept.
        let train = try LabelFile.read(dir + "/train_label.pkl")
        let row = try NpyArray.read(dir + "/train_position.npy").floats(row: try XCTUnwrap(train.names.firstIndex(of: "a01_s01_e02")))
        let lines = try rawTriples(msr + "/a01_s01_e02_skeleton3D.txt")
        let centre = lines[2] // MSR joint 3, the shoulder centre
        for (sdk, msrLine) in [(3, 19), (7, 11), (15, 17)] { // head, left hand, left foot
            let x = row[ix(0, 0, sdk, frames: 50, joints: 20)], y = row[ix(1, 0, sdk, frames: 50, joints: 20)], z = row[ix(2, 0, sdk, frames: 50, joints: 20)]
            let d = zip(lines[msrLine], centre).map { $0 - $1 }
            XCTAssertEqual(y, d[1], accuracy: 1e-6, "joint \(sdk)")
            XCTAssertEqual((x * x + z * z).squareRoot(), (d[0] * d[0] + d[2] * d[2]).squareRoot(), accuracy: 1e-5, "joint \(sdk)")
        }

        // One body slot: the same samples, each the first slot of the two-slot file.
        let one = try makeTempDir(self)
        options.kinectV1Bodies = 1
        options.parts = [.val]
        _ = try DatasetPreparation.prepareMSRAction3D(input: archive, outputDirectory: one, options: options)
        let single = try NpyArray.read(one + "/val_position.npy", expecting: .float32)
        let double = try NpyArray.read(dir + "/val_position.npy", expecting: .float32)
        XCTAssertEqual(single.shape, [275, 3, 50, 20, 1])
        XCTAssertEqual(try LabelFile.read(one + "/val_label.pkl").names, try LabelFile.read(dir + "/val_label.pkl").names)
        let two = double.floats()
        XCTAssertEqual(single.floats(), stride(from: 0, to: two.count, by: 2).map { two[$0] })
    }

    func testMSRPaperSubsetAndMalformedFilesNameTheLine() throws {
        let dir = try makeTempDir(self), input = dir + "/in"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let msr = try KinectV1Fixtures.msr()
        for f in ["a01_s01_e01", "a02_s02_e01", "a03_s03_e02"] {
            try FileManager.default.createSymbolicLink(atPath: input + "/\(f)_skeleton3D.txt", withDestinationPath: msr + "/\(f)_skeleton3D.txt")
        }
        let good = try String(contentsOfFile: msr + "/a01_s01_e01_skeleton3D.txt", encoding: .utf8)
        var bad = good.split(separator: "\n", omittingEmptySubsequences: false)
        bad[24] = "0.1 0.2 oops 1.0"
        try bad.joined(separator: "\n").write(toFile: input + "/a04_s05_e01_skeleton3D.txt", atomically: true, encoding: .utf8)
        try good.split(separator: "\n").prefix(30).joined(separator: "\n").write(toFile: input + "/a05_s07_e01_skeleton3D.txt", atomically: true, encoding: .utf8)
        try "a01_s01_e01\na02_s02_e01\na04_s05_e01\n".write(toFile: input + "/files_used_in_cvpr12_paper.txt", atomically: true, encoding: .utf8)

        let report = try DatasetPreparation.prepareMSRAction3D(input: input, outputDirectory: dir + "/out")
        XCTAssertEqual(report.written, [.train: 2, .val: 1])
        XCTAssertEqual(report.skipped.map(\.description).sorted(), [
            "\(input)/a04_s05_e01_skeleton3D.txt:25: z: 'oops' is not a number",
            "\(input)/a05_s07_e01_skeleton3D.txt:30: 30 joint lines is not a whole number of 20-joint frames (the last frame has 10)",
        ])
        var subset = PrepareOptions(); subset.msrPaperSubset = true
        let listed = try DatasetPreparation.prepareMSRAction3D(input: input, outputDirectory: dir + "/out2", options: subset)
        XCTAssertEqual(listed.written, [.train: 1, .val: 1]); XCTAssertEqual(listed.skipped.count, 1) // the bad a04 is listed
        XCTAssertEqual(try LabelFile.read(dir + "/out2/val_label.pkl").names, ["a02_s02_e01"])

        XCTAssertThrowsError(try MSRAction3DReader.parse(bytes: Array("1 2 3 4 5\n".utf8), name: "x.txt")) {
            XCTAssertEqual("\($0)", "x.txt:1: expected 'x y z confidence' (4 numbers), found 5 field(s)")
        }
        XCTAssertThrowsError(try MSRAction3DReader.parse(bytes: Array("\n\n".utf8), name: "e.txt")) { XCTAssertEqual("\($0)", "e.txt: no joint lines") }
        XCTAssertThrowsError(try DatasetPreparation.prepareMSRAction3D(input: dir + "/out", outputDirectory: dir + "/out3")) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/out: no MSR Action3D aAA_sSS_eEE_skeleton3D.txt files here or in a subfolder"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out3"))
        try Data("not an archive".utf8).write(to: URL(fileURLWithPath: dir + "/bad.tar.xz"))
        XCTAssertThrowsError(try DatasetPreparation.prepareMSRAction3D(input: dir + "/bad.tar.xz", outputDirectory: dir + "/out3")) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/bad.tar.xz: cannot unpack (tar exit status"), "\($0)")
        }
    }

    func testUTKinectLabelsJointsAndCuts() throws {
        let labels = try UTKinectReader.readLabels(path: try Fixtures.path("utkinect/actionLabel.txt"))
        let modified = try UTKinectReader.readLabels(path: try Fixtures.path("utkinect/actionLabel_modified.txt"))
        XCTAssertEqual(labels.count, 200); XCTAssertEqual(Set(labels.map(\.sequence)).count, 20)
        // README section 5: one NaN range, carry of s10_e02 on line 215; the corrected file changes 7 ranges.
        XCTAssertEqual(labels.filter { $0.frameIDs == nil }.map { "\($0.name):\($0.line)" }, ["s10_e02_carry:215"])
        XCTAssertEqual(zip(labels, modified).filter { $0.0.frameIDs != $0.1.frameIDs }.count, 7)
        XCTAssertEqual(labels[0], UTKinectAction(sequence: "s01_e01", subject: 1, label: 0, frameIDs: 252...390, line: 2))
        XCTAssertEqual(labels.filter { $0.sequence == "s01_e01" }.map(\.label), Array(0..<10))

        let path = try Fixtures.path("utkinect/joints_s01_e01.txt")
        let joints = try UTKinectReader.readJoints(path: path)
        let text = try rawTriples(path, skip: 1) // joint 1 of each line
        let ids = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { Int($0.split(separator: " ")[0])! }
        XCTAssertEqual(joints.frameIDs, ids)
        XCTAssertEqual(joints.recording.frameCount, 560)
        XCTAssertEqual(zip(ids, ids.dropFirst()).filter { $0 == $1 }.count, 15) // repeated IDs, README
        XCTAssertEqual(joints.recording.joint(0, frame: 0), [0.807139, -0.063421, 1.998671])
        XCTAssertEqual(joints.recording.joint(19, frame: 0), [1.144314, -0.746678, 2.263423]) // right foot, last 3 numbers
        XCTAssertEqual(joints.recording.joint(0, frame: 559), text[559])
        // walk: frame IDs 252...390 inclusive, every line with such an ID (repeats included).
        let walk = joints.cut(252...390)
        let inRange = ids.indices.filter { (252...390).contains(ids[$0]) }
        XCTAssertEqual(walk.frameCount, inRange.count)
        XCTAssertEqual(walk.joint(0, frame: 0), text[inRange[0]]); XCTAssertEqual(walk.joint(0, frame: walk.frameCount - 1), text[inRange.last!])
    }

    /// The whole UTKinect set (README section 5): 199 usable actions, cross-subject 100 / 99.
    func testPrepareUTKinectCrossSubject() throws {
        let dir = try makeTempDir(self)
        var options = PrepareOptions(); options.writeRawArrays = false
        let report = try DatasetPreparation.prepareUTKinect(input: try KinectV1Fixtures.utkinect(), outputDirectory: dir, options: options)
        XCTAssertEqual(report.written, [.train: 100, .val: 99]); XCTAssertEqual(report.skipped, [])
        XCTAssertTrue(report.notes[0].hasSuffix("/actionLabel_modified.txt"), report.notes[0])
        XCTAssertTrue(report.notes.contains { $0.hasSuffix("actionLabel_modified.txt:215: s10_e02 carry has no frame range (NaN); left out") }, "\(report.notes)")
        for part in DataPart.allCases {
            let labels = try LabelFile.read(dir + "/\(part.rawValue)_label.pkl")
            XCTAssertEqual(Set(labels.labels), Set(0..<10))
            XCTAssertTrue(labels.names.allSatisfy { Int($0.dropFirst().prefix(2))! % 2 == (part == .train ? 1 : 0) })
            for (n, l) in zip(labels.names, labels.labels) { XCTAssertTrue(n.hasSuffix("_" + UTKinectReader.classNames[l]), n) }
            XCTAssertEqual(try NpyArray.read(dir + "/\(part.rawValue)_position.npy").shape, [labels.names.count, 3, 50, 20, 2])
        }
        XCTAssertFalse(try LabelFile.read(dir + "/val_label.pkl").names.contains("s10_e02_carry"))

        // The fixture folder itself holds only s01 and s10: their 39 usable actions, the 16 other
        // sequences named as missing, and a note pointing at the folder's archive.
        let partial = try DatasetPreparation.prepareUTKinect(input: try Fixtures.path("utkinect"), outputDirectory: dir + "/partial", options: options)
        XCTAssertEqual(partial.written, [.train: 20, .val: 19]); XCTAssertEqual(partial.skipped.count, 16)
        XCTAssertTrue(partial.notes.contains { $0.contains("16 labelled sequence(s) have no joint file here; pass") && $0.hasSuffix("utkinect_action3d.tar.xz as the input to use the whole set") }, "\(partial.notes)")
    }

    func testUTKinectMalformedInputsNameTheFileAndLine() throws {
        let dir = try makeTempDir(self)
        let row = "5 " + Array(repeating: "0.5", count: 60).joined(separator: " ")
        try "\(row)\n\(row.dropLast(4))\n".write(toFile: dir + "/joints_s01_e01.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try UTKinectReader.readJoints(path: dir + "/joints_s01_e01.txt")) {
            XCTAssertEqual("\($0)", "\(dir)/joints_s01_e01.txt:2: expected a frame ID and 20 joints × xyz (61 numbers), found 60")
        }
        try "x5 \(row.dropFirst(2))\n".write(toFile: dir + "/j.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try UTKinectReader.readJoints(path: dir + "/j.txt")) {
            XCTAssertEqual("\($0)", "\(dir)/j.txt:1: frame ID 'x5' is not a non-negative integer")
        }
        for (text, message) in [("s01_e01\njump: 1 5\n", "2: unknown action 'jump'"), ("walk: 1 5\n", "1: action line before"),
                                ("s01_e01\nwalk: 9 5\n", "2: invalid frame range '9 5'"), ("s1_e01\n", "1: expected a sequence name sSS_eEE")] {
            try text.write(toFile: dir + "/labels.txt", atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try UTKinectReader.readLabels(path: dir + "/labels.txt")) {
                XCTAssertTrue("\($0)".hasPrefix("\(dir)/labels.txt:\(message)"), "\($0)")
            }
        }
        // Through prepare: a label range without frames is skipped and named by its label line.
        try "\(row)\n".write(toFile: dir + "/joints_s01_e01.txt", atomically: true, encoding: .utf8)
        try "s01_e01\nwalk: 1 5\nthrow: 7 9\n".write(toFile: dir + "/actionLabel.txt", atomically: true, encoding: .utf8)
        let report = try DatasetPreparation.prepareUTKinect(input: dir, outputDirectory: dir + "/out")
        XCTAssertEqual(report.written, [.train: 1, .val: 0])
        XCTAssertEqual(report.skipped.map(\.description), ["\(dir)/actionLabel.txt:3: s01_e01 throw: no frame of \(dir)/joints_s01_e01.txt has an ID in 7...9"])
    }

    func testPrepareNWUCLACrossViewDropsTheGlitchFrame() throws {
        let root = try Fixtures.path("nwucla")
        let seq = try NWUCLAReader.read(path: root + "/a04_s01_e01_v01.json")
        XCTAssertEqual(seq.name, NWUCLASampleName("a04_s01_e01_v01")); XCTAssertEqual(seq.label, 3)
        XCTAssertEqual(seq.recording.frameCount, 84)
        // Frame 34 (0-based) is the README's glitch: joint 1 all zero. It alone is untracked.
        XCTAssertEqual(seq.recording.joint(0, frame: 34), [0, 0, 0])
        XCTAssertEqual((0..<84).filter { !seq.recording.isTracked(frame: $0) }, [34])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/a04_s01_e01_v01.json"))) as! [String: Any]
        let frames = json["skeletons"] as! [[[Double]]]
        for (t, j) in [(0, 0), (33, 7), (83, 19)] { XCTAssertEqual(seq.recording.joint(j, frame: t), frames[t][j].map(Float.init)) }

        let dir = try makeTempDir(self)
        var options = PrepareOptions(); options.writeRawArrays = true
        let report = try DatasetPreparation.prepareNWUCLA(input: root, outputDirectory: dir, options: options)
        XCTAssertEqual(report.written, [.train: 3, .val: 1]); XCTAssertEqual(report.droppedFrames, 1)
        let train = try LabelFile.read(dir + "/train_label.pkl"), val = try LabelFile.read(dir + "/val_label.pkl")
        XCTAssertEqual(train.names, ["a01_s01_e00_v01", "a02_s09_e04_v02", "a04_s01_e01_v01"]); XCTAssertEqual(train.labels, [0, 1, 3])
        XCTAssertEqual(val.names, ["a12_s06_e04_v03"]); XCTAssertEqual(val.labels, [9])
        XCTAssertEqual(try String(contentsOfFile: dir + "/class_names.txt", encoding: .utf8).split(separator: "\n").map(String.init),
                       ["pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down", "stand up",
                        "donning", "doffing", "throw", "carry"])
        XCTAssertEqual(report.statistics[.train], PartStatistics(labels: [0, 1, 3], frames: [44, 1, 83]))
        // The raw array keeps the tracked frames in order: frame 34 of the file is gone.
        let raw = try NpyArray.read(dir + "/train_data.npy").floats(row: 2)
        XCTAssertEqual(raw.count, 3 * 300 * 20 * 2)
        for (t, source) in [(33, 33), (34, 35), (82, 83)] {
            XCTAssertEqual((0..<3).map { raw[ix($0, t, 5, frames: 300, joints: 20)] }, frames[source][5].map(Float.init), "frame \(t)")
        }
        XCTAssertEqual(raw[ix(0, 83, 5, frames: 300, joints: 20)], 0) // padding
        // One frame: every output frame is that frame, centred.
        let single = try NpyArray.read(dir + "/train_position.npy").floats(row: 1)
        XCTAssertEqual(single[ix(1, 49, 3, frames: 50, joints: 20)], single[ix(1, 0, 3, frames: 50, joints: 20)])
        XCTAssertEqual(single[ix(1, 0, 2, frames: 50, joints: 20)], 0)
    }

    func testNWUCLAMalformedFilesNameWhatIsWrong() throws {
        let dir = try makeTempDir(self)
        let joint = "[0.1, 0.2, 3.0]", frame = "[" + Array(repeating: joint, count: 20).joined(separator: ", ") + "]"
        let cases: [(String, String)] = [
            ("{\"file_name\": \"a01_s01_e00_v01\", \"skeletons\": [\(frame), [\(joint)]], \"label\": 1}", "frame 2 has 1 joints, expected 20"),
            ("{\"file_name\": \"a01_s01_e00_v01\", \"skeletons\": [\(frame.replacingOccurrences(of: "3.0]", with: "]"))], \"label\": 1}",
             "frame 1, joint 1 has 2 numbers, expected x, y, z"),
            ("{\"file_name\": \"a01_s01_e00_v01\", \"skeletons\": [\(frame)], \"label\": 2}", "label 2 disagrees with action a01 (label 1)"),
            ("{\"file_name\": \"a07_s01_e00_v01\", \"skeletons\": [\(frame)]}", "action a07 is not one of the ten NW-UCLA actions"),
            ("{\"file_name\": \"a01_s01_e00_v01\", \"skeletons\": [[[0.1, \"x\", 3]]]}", "skeletons[0][0][1]: expected a number"),
            ("{\"skeletons\": [\(frame)", "not valid JSON"),
            ("{\"file_name\": \"a01_s01_e00_v01\"}", "skeletons: missing key 'skeletons'"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try NWUCLAReader.parse(Data(text.utf8), file: "f.json", stem: "f")) {
                XCTAssertTrue("\($0)".hasPrefix("f.json: \(message)"), "\($0)")
            }
        }
        // Through prepare: a bad file is skipped and named, a name without a view is reported.
        try "{\"skeletons\": [\(frame)]}".write(toFile: dir + "/a01_s01_e00_v03.json", atomically: true, encoding: .utf8)
        try "{\"skeletons\": [\(frame), [\(joint)]]}".write(toFile: dir + "/a02_s01_e00_v01.json", atomically: true, encoding: .utf8)
        try "{}".write(toFile: dir + "/a01_s01_e00.json", atomically: true, encoding: .utf8)
        let report = try DatasetPreparation.prepareNWUCLA(input: dir, outputDirectory: dir + "/out")
        XCTAssertEqual(report.written, [.train: 0, .val: 1])
        XCTAssertEqual(report.skipped.map(\.description), [
            "\(dir)/a01_s01_e00.json: name does not follow aAA_sSS_eEE_vVV with view 1-3",
            "\(dir)/a02_s01_e00_v01.json: frame 2 has 1 joints, expected 20",
        ])
    }

    /// `ntu-rgb+d` output: NTU 1-20 are the Kinect joints, 21 the shoulder centre, 22-23 the
    /// left hand, 24-25 the right hand; frame50 then gives the native result on joints 1-20.
    func testNTULayoutMappingAndFrame50Centres() throws {
        let seq = try NWUCLAReader.read(path: try Fixtures.path("nwucla/a01_s01_e00_v01.json")).recording
        let native = KinectV1OutputLayout.kinectV1.sample(seq, maxFrames: 300)
        let ntu = KinectV1OutputLayout.ntuRGBD.sample(seq, maxFrames: 300)
        XCTAssertEqual(native.frames, 44); XCTAssertEqual(ntu.frames, 44)
        XCTAssertEqual(ntu.values.count, 3 * 300 * 25 * 2)
        func at(_ x: [Float], _ v: Int, _ c: Int, _ t: Int, _ j: Int, _ m: Int) -> Float { x[((c * 300 + t) * v + j) * 2 + m] }
        for t in [0, 43] { for c in 0..<3 {
            for j in 0..<20 { XCTAssertEqual(at(ntu.values, 25, c, t, j, 0), seq.joint(j, frame: t)[c]) }
            for (n, k) in [(20, 2), (21, 7), (22, 7), (23, 11), (24, 11)] { XCTAssertEqual(at(ntu.values, 25, c, t, n, 0), seq.joint(k, frame: t)[c]) }
            XCTAssertEqual(at(ntu.values, 25, c, t, 24, 1), 0)
        } }
        XCTAssertEqual(at(ntu.values, 25, 0, 44, 0, 0), 0) // padding

        let kinect = try Frame50(layout: .kinectV1), ntuF = try Frame50(layout: .ntuRGBD)
        XCTAssertEqual([kinect.originJoint, kinect.leftShoulder, kinect.rightShoulder], [2, 4, 8])
        XCTAssertEqual([ntuF.originJoint, ntuF.leftShoulder, ntuF.rightShoulder], [20, 4, 8])
        let a = try kinect.apply(native.values, frames: 300, joints: 20, bodies: 2)
        let b = try ntuF.apply(ntu.values, frames: 300, joints: 25, bodies: 2)
        for c in 0..<3 { for t in 0..<50 { for j in 0..<20 {
            XCTAssertEqual(a[ix(c, t, j, frames: 50, joints: 20)], b[ix(c, t, j, frames: 50, joints: 25)], accuracy: 1e-6)
        } } }
        XCTAssertEqual((0..<50).map { a[ix(1, $0, 2, frames: 50, joints: 20)] }, Array(repeating: 0, count: 50))
        XCTAssertThrowsError(try Frame50(layout: .openpose)) { XCTAssertTrue("\($0)".contains("openpose"), "\($0)") }

        // Through prepare, on the NW-UCLA samples.
        let dir = try makeTempDir(self)
        var options = PrepareOptions(); options.kinectV1Layout = .ntuRGBD; options.writeRawArrays = false
        _ = try DatasetPreparation.prepareNWUCLA(input: try Fixtures.path("nwucla"), outputDirectory: dir, options: options)
        let pos = try NpyArray.read(dir + "/train_position.npy")
        XCTAssertEqual(pos.shape, [3, 3, 50, 25, 2])
        let row = pos.floats(row: 0)
        XCTAssertEqual(row[ix(1, 10, 20, frames: 50, joints: 25)], 0) // spine shoulder = shoulder centre, the origin
        XCTAssertEqual(row[ix(0, 10, 21, frames: 50, joints: 25)], row[ix(0, 10, 7, frames: 50, joints: 25)])
        XCTAssertEqual(row[ix(2, 10, 24, frames: 50, joints: 25)], row[ix(2, 10, 11, frames: 50, joints: 25)])
    }

    /// The kinect-v1 layout's graph, flip and bones work with V = 20 on prepared data.
    func testKinectV1LayoutStreamsAndFlipOnPreparedData() throws {
        let dir = try makeTempDir(self)
        var options = PrepareOptions(); options.writeRawArrays = false
        _ = try DatasetPreparation.prepareNWUCLA(input: try Fixtures.path("nwucla"), outputDirectory: dir, options: options)
        let data = try NpyArray.read(dir + "/train_position.npy")
        let layout = SkeletonLayout.kinectV1
        let graph = SpatialGraph(layout: layout)
        XCTAssertEqual(graph.shape, [3, 20, 20])
        for col in 0..<20 { // every column of the summed partitions sums to 1
            let s = (0..<3).map { k in (0..<20).map { graph.adjacency[(k * 20 + $0) * 20 + col] }.reduce(0, +) }.reduce(0, +)
            XCTAssertEqual(s, 1, accuracy: 1e-6)
        }
        let clip = SkeletonClip(frames: 50, joints: 20, bodies: 2, floats: data.floats(row: 0))
        let flipped = Augment.spatialFlip(clip, permutation: layout.flip)
        XCTAssertEqual(flipped.values[flipped.index(0, 7, 4, 0)], clip.values[clip.index(0, 7, 8, 0)]) // left shoulder ← right
        XCTAssertEqual(flipped.values[flipped.index(2, 7, 15, 0)], clip.values[clip.index(2, 7, 19, 0)]) // left foot ← right
        let bones = SkeletonStream.bone.apply(data.floats(row: 0), samples: 1, frames: 50, joints: 20, bodies: 2, layout: layout)
        let x = data.floats(row: 0)
        // Bone of the left elbow (5) = elbow − left shoulder (4); the shoulder centre's own bone is 0.
        XCTAssertEqual(bones[ix(1, 9, 5, frames: 50, joints: 20)], x[ix(1, 9, 5, frames: 50, joints: 20)] - x[ix(1, 9, 4, frames: 50, joints: 20)])
        XCTAssertEqual(bones[ix(0, 9, 2, frames: 50, joints: 20)], 0)
    }
}
