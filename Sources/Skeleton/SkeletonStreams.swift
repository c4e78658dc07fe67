/// The input streams AimCLR trains on, derived from joint positions on the fly.
public enum SkeletonStream: String, CaseIterable, Sendable, Codable {
    /// Joint positions as they are.
    case joint
    /// `Mot(t) = X(t+1) − X(t)` for t < T−1, and 0 for the last frame.
    case motion
    /// `Bone(v) = X(v) − X(parent(v))`; the root's bone is 0.
    case bone

    /// Computes the stream for a batch `(N, 3, T, V, M)` (C order) into `out` (same shape).
    /// Float32 subtraction, bit-identical to the reference's GPU code.
    public func apply(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
                      samples n: Int, frames t: Int, joints v: Int, bodies m: Int, boneParent: [Int]) {
        let count = n * 3 * t * v * m
        precondition(x.count >= count && out.count >= count, "buffers smaller than (\(n), 3, \(t), \(v), \(m))")
        let src = x.baseAddress!, dst = out.baseAddress!
        switch self {
        case .joint:
            dst.update(from: src, count: count)
        case .motion:
            let frame = v * m
            for s in 0..<(n * 3) { // each (sample, channel) is a (T, V, M) block
                let base = s * t * frame
                for f in 0..<(t - 1) {
                    let o = base + f * frame
                    for i in 0..<frame { dst[o + i] = src[o + frame + i] - src[o + i] }
                }
                let last = base + (t - 1) * frame
                for i in 0..<frame { dst[last + i] = 0 }
            }
        case .bone:
            precondition(boneParent.count == v, "boneParent has \(boneParent.count) entries for \(v) joints")
            boneParent.withUnsafeBufferPointer { parent in
                for s in 0..<(n * 3 * t) { // each (sample, channel, frame) is a (V, M) block
                    let o = s * v * m
                    for j in 0..<v {
                        let p = parent[j]
                        for b in 0..<m { dst[o + j * m + b] = src[o + j * m + b] - src[o + p * m + b] }
                    }
                }
            }
        }
    }

    /// Array convenience wrapper.
    public func apply(_ x: [Float], samples n: Int, frames t: Int, joints v: Int, bodies m: Int,
                      layout: SkeletonLayout = .ntuRGBD) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer {
            apply(i, into: $0, samples: n, frames: t, joints: v, bodies: m, boneParent: layout.boneParent)
        } }
        return out
    }
}
