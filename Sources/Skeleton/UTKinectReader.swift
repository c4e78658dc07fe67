import Foundation

/// One labelled action of a UTKinect-Action3D sequence (`actionLabel.txt`).
public struct UTKinectAction: Equatable, Sendable {
    /// `sSS_eEE`.
    public var sequence: String
    public var subject: Int
    /// Index in `UTKinectReader.classNames` (the label written).
    public var label: Int
    /// First and last frame ID, inclusive; nil for the dataset's `NaN NaN` range.
    public var frameIDs: ClosedRange<Int>?
    /// 1-based line of the label file.
    public var line: Int
    public var name: String { "\(sequence)_\(UTKinectReader.classNames[label])" }
}

/// One UTKinect-Action3D joint file, `joints_sSS_eEE.txt`: per line a frame ID and 20 joints'
/// x y z (Kinect SDK order, metres). Frame IDs never decrease but may repeat on consecutive
/// lines with different coordinates (a known artefact); each line is one frame.
public struct UTKinectJoints: Sendable {
    public var frameIDs: [Int]
    public var recording: KinectV1Recording

    /// The frames whose ID lies in `ids`, in file order.
    public func cut(_ ids: ClosedRange<Int>) -> KinectV1Recording {
        recording.selecting(frames: frameIDs.indices.filter { ids.contains(frameIDs[$0]) })
    }
}

/// Readers for UTKinect-Action3D: the joint files and the label file (`actionLabel.txt` or the
/// corrected `actionLabel_modified.txt`).
public enum UTKinectReader {
    /// The ten actions in the label file's order (label = index).
    public static let classNames = ["walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands"]

    /// Cross-subject split: odd subjects train, even subjects test (as for MSR Action3D).
    public static func part(subject: Int) -> DataPart { subject % 2 == 1 ? .train : .val }

    /// `joints_sSS_eEE.txt` → `sSS_eEE`, or nil for another name.
    public static func sequence(ofJointFile name: String) -> String? {
        guard name.hasPrefix("joints_"), name.hasSuffix(".txt") else { return nil }
        let stem = String(name.dropFirst("joints_".count).dropLast(".txt".count))
        return MSRSampleName.fields(stem, ["s", "e"]) == nil ? nil : stem
    }

    public static func readJoints(path: String) throws -> UTKinectJoints {
        var s = try TextScanner(path: path)
        return try parseJoints(&s)
    }

    public static func parseJoints(bytes: [UInt8], name: String) throws -> UTKinectJoints {
        var s = TextScanner(bytes: bytes, file: name)
        return try parseJoints(&s)
    }

    static func parseJoints(_ s: inout TextScanner) throws -> UTKinectJoints {
        let v = KinectV1Recording.jointCount
        var ids: [Int] = [], values: [Float] = []
        while s.nextLine() {
            let tok = s.tokenRanges()
            if tok.isEmpty { continue }
            guard tok.count == 1 + 3 * v else {
                throw s.error("expected a frame ID and \(v) joints × xyz (\(1 + 3 * v) numbers), found \(tok.count)")
            }
            guard let id = Int(s.token(tok[0])), id >= 0 else { throw s.error("frame ID '\(s.token(tok[0]))' is not a non-negative integer") }
            ids.append(id)
            for k in 1..<tok.count { values.append(try s.coordinate(tok[k], what: "joint \((k - 1) / 3 + 1) \(["x", "y", "z"][(k - 1) % 3])")) }
        }
        guard !ids.isEmpty else { throw SkeletonFileError(file: s.file, line: 0, reason: "no frames") }
        return UTKinectJoints(frameIDs: ids, recording: KinectV1Recording(frameCount: ids.count, values: values))
    }

    /// Parses a label file: a `sSS_eEE` line per sequence, then `action: start end` lines
    /// (frame IDs, inclusive; `NaN NaN` for a range the dataset does not give).
    public static func readLabels(path: String) throws -> [UTKinectAction] {
        var s = try TextScanner(path: path)
        var out: [UTKinectAction] = []
        var current: (name: String, subject: Int)?
        while s.nextLine() {
            let tok = s.tokenRanges(separators: [0x20, 0x09, 0x0D, 0x3A]) // ':' separates the action name
            if tok.isEmpty { continue }
            if tok.count == 1 {
                let name = s.token(tok[0])
                guard let f = MSRSampleName.fields(name, ["s", "e"]) else { throw s.error("expected a sequence name sSS_eEE, found '\(name)'") }
                current = (name, f[0])
                continue
            }
            guard let seq = current else { throw s.error("action line before the first sequence name sSS_eEE") }
            guard tok.count == 3 else { throw s.error("expected 'action: start end', found '\(s.text)'") }
            let action = s.token(tok[0])
            guard let label = classNames.firstIndex(of: action) else {
                throw s.error("unknown action '\(action)' (expected one of \(classNames.joined(separator: ", ")))")
            }
            let a = s.token(tok[1]), b = s.token(tok[2])
            var range: ClosedRange<Int>?
            if a.lowercased() == "nan" || b.lowercased() == "nan" {
                range = nil
            } else {
                guard let lo = Int(a), let hi = Int(b), lo >= 0, hi >= lo else { throw s.error("invalid frame range '\(a) \(b)'") }
                range = lo...hi
            }
            out.append(UTKinectAction(sequence: seq.name, subject: seq.subject, label: label, frameIDs: range, line: s.line))
        }
        guard !out.isEmpty else { throw SkeletonFileError(file: s.file, line: 0, reason: "no labelled actions") }
        return out
    }
}
