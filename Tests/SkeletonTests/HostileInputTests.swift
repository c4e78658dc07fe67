import Foundation
import XCTest
@testable import Skeleton
import TestSupport

private func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []; var i = s.startIndex
    while i < s.endIndex { let j = s.index(i, offsetBy: 2); out.append(UInt8(s[i..<j], radix: 16)!); i = j }
    return out
}

final class HostileInputTests: XCTestCase {
    // MARK: .npy

    func testNpyReaderSurvivesMutations() throws {
        let dir = try scratchFolder("npy")
        let path = dir.appendingPathComponent("fixture.npy").path
        let fixtures: [NpyArray] = [
            NpyArray(shape: [2, 3, 4, 2, 1], floats: (0..<48).map { Float($0) * 0.5 }),
            NpyArray(shape: [3, 2], doubles: [1, 2, 3, 4, 5, 6]),
            NpyArray(shape: [4], int64s: [1, -2, 3, 1 << 40]),
        ]
        for (k, a) in fixtures.enumerated() {
            try a.write(to: path)
            let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            fuzz("npy \(a.dtype.rawValue)", valid: valid, label: path, seed: UInt64(10 + k), count: 1500) { bytes in
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let r = try NpyArray.read(path)
                // Touch every element: a shape that promises more than the file holds must have been refused.
                _ = r.floats()
                if r.shape.count > 0, r.shape[0] > 0 { _ = r.floats(row: r.shape[0] - 1) }
            }
        }
    }

    func testNpyHeaderWithAnOverflowingShapeIsRefused() throws {
        let dir = try scratchFolder("npy-shape")
        let path = dir.appendingPathComponent("huge.npy").path
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(dict.utf8.count + 1), 0]
        bytes += Array(dict.utf8) + [0x0A]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try NpyArray.read(path)) { error in
            XCTAssertTrue("\(error)".contains("too large"), "\(error)")
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }

    // MARK: pickle labels

    /// `pickle.dumps((names, labels), protocol=4)`: FRAME, MEMOIZE, SHORT_BINUNICODE, BINUNICODE, APPENDS.
    static let protocol4Labels = hexBytes("80049583010000000000005d94288c1d53303031433030315030303152303031413030312e736b656c65746f6e948c1d53303031433030325030303352303032413031332e736b656c65746f6e94582c010000" + String(repeating: "78", count: 300) + "94655d94284b004b0c4b3b6586942e")

    func testLabelPickleReaderSurvivesMutations() throws {
        let dir = try scratchFolder("pkl")
        let path = dir.appendingPathComponent("train_label.pkl").path
        let ours = Pickler.encodeNamesAndLabels(names: ["S001C001P001R001A001", "S002C003P004R001A060"], labels: [0, 59])
        for (k, valid) in [ours, Self.protocol4Labels].enumerated() {
            fuzz("label pickle #\(k)", valid: valid, label: path, seed: UInt64(20 + k), count: 2000) { bytes in
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                _ = try LabelFile.read(path)
            }
        }
        // In memory (no file round trip): the raw unpickler on many more inputs.
        fuzz("unpickler (memory)", valid: Self.protocol4Labels, label: "fuzz.pkl", seed: 22, count: 4000) { bytes in
            var u = Unpickler(bytes: bytes, source: "fuzz.pkl")
            _ = try u.load()
        }
    }

    func testPickleLengthFieldsAndNestingCannotTrap() {
        // BINUNICODE8 with a length of 2^64 - 1: must be "ends early", not an overflow trap.
        var u = Unpickler(bytes: [0x80, 0x04, 0x8D] + [UInt8](repeating: 0xFF, count: 8) + [0x2E], source: "len.pkl")
        XCTAssertThrowsError(try u.load()) { XCTAssertTrue("\($0)".contains("len.pkl"), "\($0)") }
        // BINBYTES8 with 2^63 - 1.
        u = Unpickler(bytes: [0x80, 0x04, 0x8E] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + [0x2E], source: "len.pkl")
        XCTAssertThrowsError(try u.load())
        // 200,000 nested lists (2 bytes each) must be refused, not overflow the stack.
        let deep = [UInt8](repeating: 0x5D, count: 200_000) + [UInt8](repeating: 0x61, count: 199_999) + [0x2E]
        u = Unpickler(bytes: deep, source: "deep.pkl")
        XCTAssertThrowsError(try u.load()) { XCTAssertTrue("\($0)".contains("nesting"), "\($0)") }
        // 100,000 nested 1-tuples (1 byte each).
        u = Unpickler(bytes: [0x4E] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E], source: "tuples.pkl")
        XCTAssertThrowsError(try u.load()) { XCTAssertTrue("\($0)".contains("nesting"), "\($0)") }
        // A list appended to itself through the memo (a cycle) is refused.
        u = Unpickler(bytes: [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], source: "cycle.pkl")
        XCTAssertThrowsError(try u.load()) { XCTAssertTrue("\($0)".contains("cycle.pkl"), "\($0)") }
        // "Billion laughs": each list holds the previous one twice; 40 levels = 2^40 values.
        var laughs: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for level in 1...40 {
            laughs += [0x5D, 0x28, 0x68, UInt8(level - 1), 0x68, UInt8(level - 1), 0x65, 0x71, UInt8(level)]
        }
        laughs.append(0x2E)
        u = Unpickler(bytes: laughs, source: "laughs.pkl")
        XCTAssertThrowsError(try u.load()) { XCTAssertTrue("\($0)".contains("too many values"), "\($0)") }
    }

    // MARK: NTU .skeleton

    static func ntuSkeletonText(frames: Int, bodies: Int) -> String {
        var s = "\(frames)\n"
        for t in 0..<frames {
            s += "\(bodies)\n"
            for m in 0..<bodies {
                s += "72057594037931\(m) 0 1 1 1 1 0 0.1 0.2 2\n25\n"
                for v in 0..<25 {
                    let x = Double(v) * 0.01 + Double(t) * 0.001, y = Double(m) * 0.3 - 0.2, z = 3.0 + Double(v) * 0.002
                    s += "\(x) \(y) \(z) 0.1 0.2 100 200 300 400 0 0 2\n"
                }
            }
        }
        return s
    }

    func testNTUSkeletonReaderSurvivesMutations() throws {
        let valid = Array(Self.ntuSkeletonText(frames: 3, bodies: 2).utf8)
        let seq = try NTUSkeletonReader.parse(bytes: valid, name: "S001C001P001R001A001.skeleton")
        XCTAssertEqual(seq.frameCount, 3)
        fuzz("NTU .skeleton", valid: valid, label: "S001C001P001R001A001.skeleton", seed: 30, count: 3000) { bytes in
            _ = try NTUSkeletonReader.parse(bytes: bytes, name: "S001C001P001R001A001.skeleton")
        }
        // The reader from disk, on the real fixture files when present.
        if let dir = sharedData()?.appendingPathComponent("ntu/raw"),
           let name = try? FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().first(where: { $0.hasSuffix(".skeleton") }) {
            let real = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            fuzz("NTU .skeleton (\(name))", valid: real, label: name, seed: 31, count: 300, minimum: 20) { bytes in
                _ = try NTUSkeletonReader.parse(bytes: bytes, name: name)
            }
        }
    }

    func testNTUSkeletonRefusesNaNCoordinatesNamingTheLine() {
        var text = Self.ntuSkeletonText(frames: 1, bodies: 1)
        text = text.replacingOccurrences(of: "0.0 -0.2 3.0 ", with: "nan -0.2 3.0 ")
        XCTAssertThrowsError(try NTUSkeletonReader.parse(bytes: Array(text.utf8), name: "nan.skeleton")) { error in
            XCTAssertEqual((error as? SkeletonFileError)?.line, 5, "\(error)")
            XCTAssertTrue("\(error)".contains("nan.skeleton") && "\(error)".contains("finite"), "\(error)")
        }
    }

    // MARK: PKU-MMD

    func testPKUReadersSurviveMutations() throws {
        let dir = try scratchFolder("pku")
        let path = dir.appendingPathComponent("0002-L.txt").path
        let rows = (0..<3).map { t in (0..<150).map { String(format: "%.4f", Double($0 % 7) * 0.1 + Double(t)) }.joined(separator: " ") }
        let valid = Array((rows.joined(separator: "\n") + "\n").utf8)
        fuzz("PKU skeleton txt", valid: valid, label: path, seed: 40, count: 1500) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let s = try PKUReader.readSkeleton(path: path)
            _ = PKUReader.cut(s, action: PKUAction(classID: 1, start: 1, end: 2), maxFrames: 4, endInclusive: true)
        }
        let labelPath = dir.appendingPathComponent("0002-L-label.txt").path
        let labels = Array("1,0,2,1\n12,1,3,0\n51,2,2,1\n".utf8)
        let seq = SkeletonSequence(frameCount: 3, jointCount: 25, bodySlots: 2)
        fuzz("PKU labels", valid: labels, label: labelPath, seed: 41, count: 1500) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: labelPath))
            for a in try PKUReader.readLabels(path: labelPath) {
                _ = PKUReader.cut(seq, action: a, maxFrames: 4, endInclusive: true)
            }
        }
    }

    // MARK: JSON layouts

    func testLayoutJSONReaderSurvivesMutations() throws {
        let dir = try scratchFolder("layout")
        let path = dir.appendingPathComponent("layout.json").path
        let valid = [UInt8](try JSONEncoder().encode(SkeletonLayout.kinectV1))
        XCTAssertEqual(try { try Data(valid).write(to: URL(fileURLWithPath: path)); return try SkeletonLayout.load(json: path) }(),
                       try SkeletonLayout(name: "kinect-v1", jointCount: 20, edges: SkeletonLayout.kinectV1.edgePairs,
                                          center: 2, flip: SkeletonLayout.kinectV1.flip, boneParent: SkeletonLayout.kinectV1.boneParent))
        fuzz("layout JSON", valid: valid, label: path, seed: 50, count: 2000) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let layout = try SkeletonLayout.load(json: path)
            _ = SpatialGraph(layout: layout).adjacency
        }
        // Extreme numbers that would overflow the 1-based shift or size an allocation.
        for text in [#"{"jointCount": 9223372036854775807, "edges": [], "center": 0}"#,
                     #"{"jointCount": 3, "edges": [[-9223372036854775808, 1]], "center": 0, "oneBased": true}"#,
                     #"{"jointCount": 3, "edges": [], "center": -9223372036854775808, "oneBased": true}"#] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SkeletonLayout.load(json: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        }
    }
}

/// The shared fixture folder: $AIMCLR_SHARED_DATA, else `shared/data` beside the repository.
func sharedData() -> URL? {
    let url: URL
    if let env = ProcessInfo.processInfo.environment["AIMCLR_SHARED_DATA"] { url = URL(fileURLWithPath: env) } else {
        url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")
    }
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}

/// The Kinect v1 readers (MSR Action3D, UTKinect, NW-UCLA) and the steps after them (untracked
/// frames, layout mapping, frame50) on mutated files: an error naming the file, never a trap.
final class KinectV1HostileInputTests: XCTestCase {
    /// Readers' output through the rest of the preparation, in both layouts.
    func finish(_ r: KinectV1Recording) throws {
        let tracked = r.droppingUntrackedFrames().recording
        guard tracked.frameCount > 0 else { return }
        for target in KinectV1OutputLayout.allCases {
            let block = target.sample(tracked, maxFrames: 8)
            _ = try Frame50(layout: target.layout).apply(block.values, frames: 8, joints: target.layout.jointCount, bodies: 2)
        }
    }

    func testMSRAndUTKinectReadersSurviveMutations() throws {
        let msr = (0..<(2 * 20)).map { String(format: "%.6f %.6f %.6f 1.000000", 0.1 * Double($0 % 7), 0.05 * Double($0 % 5) - 0.2, 2.5) }
        fuzz("MSR skeleton3D", valid: Array((msr.joined(separator: "\n") + "\n").utf8), label: "a01_s01_e01_skeleton3D.txt",
             seed: 70, count: 1500, seconds: 3) { bytes in
            try finish(try MSRAction3DReader.parse(bytes: bytes, name: "a01_s01_e01_skeleton3D.txt"))
        }
        let utk = (0..<3).map { t in "\(100 + 2 * t) " + (0..<60).map { String(format: "%.6f", 0.01 * Double($0 % 11) + 1) }.joined(separator: " ") }
        fuzz("UTKinect joints", valid: Array((utk.joined(separator: "\n") + "\n").utf8), label: "joints_s01_e01.txt",
             seed: 71, count: 1500, seconds: 3) { bytes in
            let j = try UTKinectReader.parseJoints(bytes: bytes, name: "joints_s01_e01.txt")
            try finish(j.cut(100...103))
        }
        let dir = try scratchFolder("utkinect-labels")
        let path = dir.appendingPathComponent("actionLabel.txt").path
        fuzz("UTKinect labels", valid: Array("s01_e01\nwalk: 252 390\ncarry:  NaN NaN\nthrow: 1 2 \n".utf8), label: path,
             seed: 72, count: 1500, seconds: 3) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try UTKinectReader.readLabels(path: path)
        }
    }

    func testNWUCLAReaderSurvivesMutations() throws {
        let frame = "[" + (0..<20).map { "[\(-0.6 + 0.01 * Double($0)), \(0.3 + 0.02 * Double($0)), 3.1]" }.joined(separator: ", ") + "]"
        let text = "{\"file_name\": \"a01_s01_e00_v01\", \"skeletons\": [\(frame), \(frame)], \"label\": 1}"
        fuzz("NW-UCLA json", valid: Array(text.utf8), label: "a01_s01_e00_v01.json", seed: 73, count: 1500, seconds: 3) { bytes in
            try finish(try NWUCLAReader.parse(Data(bytes), file: "a01_s01_e00_v01.json", stem: "a01_s01_e00_v01").recording)
        }
    }
}
