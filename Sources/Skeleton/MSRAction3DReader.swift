import Foundation

/// The fields of an MSR Action3D file name, `aAA_sSS_eEE_skeleton3D.txt`.
public struct MSRSampleName: Equatable, Sendable {
    public var action: Int
    public var subject: Int
    public var repetition: Int
    /// `aAA_sSS_eEE`, the name written to the label file.
    public var stem: String

    /// Nil when `fileName` is not an `aAA_sSS_eEE_skeleton3D.txt` real-world skeleton file.
    public init?(_ fileName: String) {
        let suffix = "_skeleton3D.txt"
        guard fileName.hasSuffix(suffix) else { return nil }
        let stem = String(fileName.dropLast(suffix.count))
        guard let f = MSRSampleName.fields(stem, ["a", "s", "e"]) else { return nil }
        action = f[0]; subject = f[1]; repetition = f[2]; self.stem = stem
    }

    /// Parses `p1NN_p2NN_...` (two digits each) into its numbers.
    static func fields(_ stem: String, _ prefixes: [Character]) -> [Int]? {
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == prefixes.count else { return nil }
        var out: [Int] = []
        for (p, prefix) in zip(parts, prefixes) {
            guard p.count == 3, p.first == prefix, p.dropFirst().allSatisfy(\.isASCII), let n = Int(p.dropFirst()) else { return nil }
            out.append(n)
        }
        return out
    }
}

/// Reader for MSR Action3D real-world skeleton files (`aAA_sSS_eEE_skeleton3D.txt`): one
/// joint per line, `x y z confidence` in metres, 20 lines per frame in MSR's own joint
/// order, frames back to back.
public enum MSRAction3DReader {
    /// MSR joint (0-based) of each Kinect SDK joint: 1 L shoulder, 2 R shoulder, 3 shoulder
    /// centre, 4 spine, 5 L hip, 6 R hip, 7 hip centre, 8 L elbow, 9 R elbow, 10 L wrist,
    /// 11 R wrist, 12 L hand, 13 R hand, 14 L knee, 15 R knee, 16 L ankle, 17 R ankle,
    /// 18 L foot, 19 R foot, 20 head (1-based) in the file.
    public static let msrJointOfSDKJoint = [7, 4, 3, 20, 1, 8, 10, 12, 2, 9, 11, 13, 5, 14, 16, 18, 6, 15, 17, 19].map { $0 - 1 }

    /// The 20 actions, a01 ... a20 (label = action − 1).
    public static let classNames = [
        "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch", "high throw", "draw x",
        "draw tick", "draw circle", "hand clap", "two hand wave", "side-boxing", "bend", "forward kick", "side kick",
        "jogging", "tennis swing", "tennis serve", "golf swing", "pick up & throw",
    ]

    /// Cross-subject split of the dataset's papers: odd subjects train, even subjects test.
    public static func part(subject: Int) -> DataPart { subject % 2 == 1 ? .train : .val }

    /// Reads `path`, reordered to the Kinect SDK joint order. Errors name the file and line.
    public static func read(path: String) throws -> KinectV1Recording {
        var s = try TextScanner(path: path)
        return try parse(&s)
    }

    /// Parses in-memory contents; `name` labels errors.
    public static func parse(bytes: [UInt8], name: String) throws -> KinectV1Recording {
        var s = TextScanner(bytes: bytes, file: name)
        return try parse(&s)
    }

    static func parse(_ s: inout TextScanner) throws -> KinectV1Recording {
        let v = KinectV1Recording.jointCount
        var joints: [Float] = [] // MSR order, xyz per line
        var lastLine = 0
        while s.nextLine() {
            let tok = s.tokenRanges()
            if tok.isEmpty { continue }
            guard tok.count == 4 || tok.count == 3 else {
                throw s.error("expected 'x y z confidence' (4 numbers), found \(tok.count) field(s)")
            }
            for (k, r) in tok.enumerated() {
                if k < 3 { joints.append(try s.coordinate(r, what: ["x", "y", "z"][k])) } else { _ = try s.double(r, what: "confidence") }
            }
            lastLine = s.line
        }
        let lines = joints.count / 3
        guard lines > 0 else { throw SkeletonFileError(file: s.file, line: 0, reason: "no joint lines") }
        guard lines % v == 0 else {
            throw SkeletonFileError(file: s.file, line: lastLine,
                                    reason: "\(lines) joint lines is not a whole number of \(v)-joint frames (the last frame has \(lines % v))")
        }
        let frames = lines / v
        var out = [Float](repeating: 0, count: joints.count)
        for t in 0..<frames {
            for (j, m) in msrJointOfSDKJoint.enumerated() {
                for c in 0..<3 { out[(t * v + j) * 3 + c] = joints[(t * v + m) * 3 + c] }
            }
        }
        return KinectV1Recording(frameCount: frames, values: out)
    }
}
