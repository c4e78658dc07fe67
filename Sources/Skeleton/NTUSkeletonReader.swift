import Foundation

/// One parsed skeleton recording: x, y, z per frame, joint and body slot.
/// Layout `(3, frameCount, jointCount, bodySlots)`, C order, float32 (values are
/// `Float(Double(token))`, the reference's route).
public struct SkeletonSequence: Sendable, Equatable {
    public var frameCount: Int
    public var jointCount: Int
    public var bodySlots: Int
    public var values: [Float]

    public init(frameCount: Int, jointCount: Int, bodySlots: Int, values: [Float]? = nil) {
        self.frameCount = frameCount; self.jointCount = jointCount; self.bodySlots = bodySlots
        self.values = values ?? [Float](repeating: 0, count: 3 * frameCount * jointCount * bodySlots)
        precondition(self.values.count == 3 * frameCount * jointCount * bodySlots, "values do not match the shape")
    }

    public var shape: [Int] { [3, frameCount, jointCount, bodySlots] }

    @inline(__always) public func index(_ c: Int, _ t: Int, _ v: Int, _ m: Int) -> Int {
        ((c * frameCount + t) * jointCount + v) * bodySlots + m
    }

    /// The sequence zero-padded (or cut) to `frames` frames: the `(3, frames, V, M)` block the
    /// reference generator writes per sample (`frames` = 300 for NTU).
    public func padded(to frames: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * frames * jointCount * bodySlots)
        let block = jointCount * bodySlots
        let n = min(frames, frameCount)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    let s = src.baseAddress! + c * frameCount * block
                    let d = dst.baseAddress! + c * frames * block
                    d.update(from: s, count: n * block)
                }
            }
        }
        return out
    }
}

/// Reader for NTU RGB+D `.skeleton` text files (Kinect v2).
///
/// Per frame: a body count, then per body a 10-field info line, a joint-count line and
/// one 12-field line per joint, of which only x, y, z are kept. Bodies beyond `maxBodies`
/// are parsed (to stay in sync) and dropped, as the reference does.
public enum NTUSkeletonReader {
    /// Parses `path`. Errors name the file and the 1-based line.
    /// - Parameters:
    ///   - jointCount: joints every body must list (25 for NTU).
    ///   - maxFrames: recordings longer than this are rejected (the reference's fixed 300-frame array).
    public static func read(path: String, jointCount: Int = 25, maxBodies: Int = 2, maxFrames: Int = 300) throws -> SkeletonSequence {
        var s = try TextScanner(path: path)
        return try parse(&s, jointCount: jointCount, maxBodies: maxBodies, maxFrames: maxFrames)
    }

    /// Parses in-memory file contents; `name` labels errors.
    public static func parse(bytes: [UInt8], name: String, jointCount: Int = 25, maxBodies: Int = 2, maxFrames: Int = 300) throws -> SkeletonSequence {
        var s = TextScanner(bytes: bytes, file: name)
        return try parse(&s, jointCount: jointCount, maxBodies: maxBodies, maxFrames: maxFrames)
    }

    static func parse(_ s: inout TextScanner, jointCount: Int, maxBodies: Int, maxFrames: Int) throws -> SkeletonSequence {
        try s.requireLine("the frame count")
        let frames = try s.singleInt(what: "frame count")
        guard frames <= maxFrames else { throw s.error("\(frames) frames exceed the maximum of \(maxFrames)") }
        var seq = SkeletonSequence(frameCount: frames, jointCount: jointCount, bodySlots: maxBodies)
        let stride = jointCount * maxBodies, plane = frames * stride
        try seq.values.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            for t in 0..<frames {
                try s.requireLine("the body count of frame \(t + 1) of \(frames)")
                let bodies = try s.singleInt(what: "body count of frame \(t + 1)")
                for m in 0..<bodies {
                    try s.requireLine("the info line of body \(m + 1) in frame \(t + 1)")
                    let info = s.tokenRanges()
                    guard info.count == 10 else {
                        throw s.error("body info line of frame \(t + 1) needs 10 fields, found \(info.count)")
                    }
                    try s.requireLine("the joint count of body \(m + 1) in frame \(t + 1)")
                    let joints = try s.singleInt(what: "joint count")
                    guard joints == jointCount else {
                        throw s.error("body \(m + 1) of frame \(t + 1) has \(joints) joints, expected \(jointCount)")
                    }
                    for v in 0..<joints {
                        try s.requireLine("joint \(v + 1) of body \(m + 1) in frame \(t + 1)")
                        let tok = s.tokenRanges()
                        guard tok.count >= 3 else {
                            throw s.error("joint line needs x y z (12 fields), found \(tok.count) fields")
                        }
                        let x = try s.double(tok[0], what: "joint \(v + 1) x")
                        let y = try s.double(tok[1], what: "joint \(v + 1) y")
                        let z = try s.double(tok[2], what: "joint \(v + 1) z")
                        if m < maxBodies {
                            let o = t * stride + v * maxBodies + m
                            base[o] = Float(x); base[plane + o] = Float(y); base[2 * plane + o] = Float(z)
                        }
                    }
                }
            }
        }
        return seq
    }
}

/// The fields of an NTU sample name `SsssCcccPpppRrrrAaaa` (optionally with a suffix).
public struct NTUSampleName: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var setup: Int, camera: Int, performer: Int, replication: Int, action: Int
    /// The name without suffix, e.g. `S001C002P003R002A013`.
    public var stem: String

    /// Parses a file name or stem; nil when it does not follow the pattern.
    public init?(_ name: String) {
        let base = URL(fileURLWithPath: name).lastPathComponent
        let u = Array(base.utf8)
        guard u.count >= 20 else { return nil }
        func field(_ letter: Character, _ at: Int) -> Int? {
            guard u[at] == letter.asciiValue! else { return nil }
            let digits = u[(at + 1)..<(at + 4)]
            guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(String(decoding: digits, as: UTF8.self))
        }
        guard let s = field("S", 0), let c = field("C", 4), let p = field("P", 8), let r = field("R", 12), let a = field("A", 16),
              u.count == 20 || u[20] == 0x2E else { return nil }
        setup = s; camera = c; performer = p; replication = r; action = a
        stem = String(decoding: u[0..<20], as: UTF8.self)
    }

    /// The 0-based class label (action − 1).
    public var label: Int { action - 1 }
    public var description: String { stem }
}
