import Compute
import Foundation

/// One labelled interval of a PKU-MMD recording.
public struct PKUAction: Equatable, Sendable {
    /// 1-based action id as in the label file (label = classID − 1).
    public var classID: Int
    public var start: Int
    public var end: Int
}

/// Readers for PKU-MMD: untrimmed skeleton text files (one frame per line, 150 numbers:
/// 2 bodies × 25 joints × xyz) and their label files (`action, start, end, confidence`).
public enum PKUReader {
    /// Parses a whole skeleton file into `(3, frames, 25, 2)`. A line must hold exactly
    /// `bodies · joints · 3` numbers; blank lines at the end are ignored.
    public static func readSkeleton(path: String, joints: Int = 25, bodies: Int = 2) throws -> SkeletonSequence {
        var s = try TextScanner(path: path)
        var rows: [[Float]] = []
        let per = bodies * joints * 3
        while s.nextLine() {
            let tok = s.tokenRanges()
            if tok.isEmpty { continue }
            guard tok.count == per else { throw s.error("expected \(per) numbers (\(bodies) bodies × \(joints) joints × xyz), found \(tok.count)") }
            var row = [Float](repeating: 0, count: per)
            for (k, r) in tok.enumerated() { row[k] = Float(try s.double(r, what: "value \(k + 1)")) }
            rows.append(row)
        }
        var seq = SkeletonSequence(frameCount: rows.count, jointCount: joints, bodySlots: bodies)
        for (t, row) in rows.enumerated() {
            for m in 0..<bodies { for v in 0..<joints { for c in 0..<3 {
                seq.values[seq.index(c, t, v, m)] = row[(m * joints + v) * 3 + c]
            } } }
        }
        return seq
    }

    /// Parses a label file: one `action_id, start_frame, end_frame[, confidence]` row per line.
    public static func readLabels(path: String) throws -> [PKUAction] {
        var s = try TextScanner(path: path)
        var out: [PKUAction] = []
        while s.nextLine() {
            let tok = s.tokenRanges(separators: [0x20, 0x09, 0x0D, 0x2C])
            if tok.isEmpty { continue }
            guard tok.count >= 3 else { throw s.error("expected 'action, start, end[, confidence]', found '\(s.text)'") }
            let v = try tok.prefix(3).map { r -> Int in
                guard let i = Int(s.token(r)) else { throw s.error("'\(s.token(r))' is not an integer") }
                return i
            }
            // Frame numbers are bounded so `end + 1` (inclusive intervals) cannot overflow.
            guard v[0] >= 1, v[1] >= 0, v[2] >= v[1], v[2] <= 1 << 40 else { throw s.error("invalid action \(v[0]) or interval \(v[1])...\(v[2])") }
            out.append(PKUAction(classID: v[0], start: v[1], end: v[2]))
        }
        return out
    }

    /// Cuts one action out of a recording into a zero-padded `(3, maxFrames, V, M)` block.
    /// The interval is `start..<end` (or `start...end` with `endInclusive`), clipped to the
    /// recording; intervals longer than `maxFrames` are centre-cropped to `maxFrames`.
    public static func cut(_ seq: SkeletonSequence, action: PKUAction, maxFrames: Int = 300, endInclusive: Bool = false) -> (values: [Float], frames: Int) {
        let lo = max(0, action.start)
        let hi = min(seq.frameCount, endInclusive ? action.end + 1 : action.end)
        var length = max(0, hi - lo)
        var first = lo
        if length > maxFrames { first = lo + (length - maxFrames) / 2; length = maxFrames }
        let block = seq.jointCount * seq.bodySlots
        var out = [Float](repeating: 0, count: 3 * maxFrames * block)
        for c in 0..<3 {
            for t in 0..<length {
                let s = seq.index(c, first + t, 0, 0), d = (c * maxFrames + t) * block
                for k in 0..<block { out[d + k] = seq.values[s + k] }
            }
        }
        return (out, length)
    }

    /// Reads a split file (`cross-subject.txt`, `cross-view.txt`, `cross_subject_v2.txt`):
    /// training ids on line 2, test ids on line 4, separated by commas and/or spaces.
    public static func readSplit(path: String) throws -> (train: [String], val: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SkeletonFileError(file: path, line: 0, reason: "cannot read split file: \(InputFile.problem(path) ?? "unreadable")")
        }
        let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        guard lines.count >= 4 else { throw SkeletonFileError(file: path, line: lines.count, reason: "expected training ids on line 2 and test ids on line 4") }
        func ids(_ l: String) -> [String] {
            l.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        }
        return (ids(lines[1]), ids(lines[3]))
    }

    /// `F{id}V{view}C{class}L{index}` for recording `id-view` (e.g. `0002-L`), as the reference names instances.
    public static func sampleName(recording: String, classID: Int, index: Int) -> String {
        let parts = recording.split(separator: "-")
        let id = parts.first.map(String.init) ?? recording
        let view = parts.count > 1 ? String(parts[1]) : "0"
        return "F\(id)V\(view)C\(String(format: "%03d", classID))L\(String(format: "%03d", index))"
    }
}
