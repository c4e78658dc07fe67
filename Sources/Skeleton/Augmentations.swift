import Foundation

/// The AimCLR augmentations (`feeder/tools.py`), each as a pure function of its parameters,
/// so the random draws (see `AugmentationDraws`) are separate from the maths and each op can
/// be checked against the reference with fixed parameters.
public enum Augment {
    /// Temporal "crop": a shift of −pad…+pad frames with mirrored borders, pad = ⌊T / paddingRatio⌋.
    /// The padded sequence is frames pad−1…0, 0…T−1, T−1…T−pad; the result is `padded[start ..< start + T]`,
    /// `start` ∈ 0…2·pad.
    public static func temporalCrop(_ x: SkeletonClip, start: Int, paddingRatio: Int = 6) -> SkeletonClip {
        let t = x.frames, pad = t / paddingRatio
        precondition(start >= 0 && start <= 2 * pad, "crop start \(start) outside 0...\(2 * pad)")
        var out = x
        let frame = x.joints * x.bodies
        x.values.withUnsafeBufferPointer { src in out.values.withUnsafeMutableBufferPointer { dst in
            for c in 0..<3 {
                for f in 0..<t {
                    let p = start + f // index into the padded sequence
                    let s: Int
                    if p < pad { s = pad - 1 - p } else if p < pad + t { s = p - pad } else { s = t - 1 - (p - pad - t) }
                    let so = (c * t + s) * frame, d = (c * t + f) * frame
                    for k in 0..<frame { dst[d + k] = src[so + k] }
                }
            }
        } }
        return out
    }

    /// Shear: p' = R·p with R = [[1, a₀, b₀], [a₁, 1, b₁], [a₂, b₂, 1]] for every joint.
    public static func shear(_ x: SkeletonClip, a: [Double], b: [Double]) -> SkeletonClip {
        precondition(a.count == 3 && b.count == 3, "shear needs three a and three b values")
        return linear(x, [[1, a[0], b[0]], [a[1], 1, b[1]], [a[2], b[2], 1]])
    }

    /// Applies a 3×3 matrix to every (x, y, z).
    public static func linear(_ x: SkeletonClip, _ r: [[Double]]) -> SkeletonClip {
        var out = x
        let n = x.plane
        let r00 = r[0][0], r01 = r[0][1], r02 = r[0][2], r10 = r[1][0], r11 = r[1][1], r12 = r[1][2]
        let r20 = r[2][0], r21 = r[2][1], r22 = r[2][2]
        x.values.withUnsafeBufferPointer { s in out.values.withUnsafeMutableBufferPointer { d in
            for i in 0..<n {
                let px = s[i], py = s[n + i], pz = s[2 * n + i]
                d[i] = r00 * px + r01 * py + r02 * pz
                d[n + i] = r10 * px + r11 * py + r12 * pz
                d[2 * n + i] = r20 * px + r21 * py + r22 * pz
            }
        } }
        return out
    }

    /// Spatial flip: `new[v] = old[permutation[v]]`; coordinates are not mirrored (as the reference).
    public static func spatialFlip(_ x: SkeletonClip, permutation: [Int] = SkeletonLayout.ntuRGBD.flip) -> SkeletonClip {
        precondition(permutation.count == x.joints, "flip permutation has \(permutation.count) entries for \(x.joints) joints")
        var out = x
        let m = x.bodies
        x.values.withUnsafeBufferPointer { s in out.values.withUnsafeMutableBufferPointer { d in
            permutation.withUnsafeBufferPointer { perm in
                for f in 0..<(3 * x.frames) { // each (channel, frame) is a (V, M) block
                    let o = f * x.joints * m
                    for v in 0..<x.joints { for b in 0..<m { d[o + v * m + b] = s[o + perm[v] * m + b] } }
                }
            }
        } }
        return out
    }

    /// Reverses the frame order.
    public static func timeFlip(_ x: SkeletonClip) -> SkeletonClip {
        var out = x
        let frame = x.joints * x.bodies
        x.values.withUnsafeBufferPointer { src in out.values.withUnsafeMutableBufferPointer { dst in
            for c in 0..<3 { for t in 0..<x.frames {
                let s = (c * x.frames + (x.frames - 1 - t)) * frame, d = (c * x.frames + t) * frame
                for k in 0..<frame { dst[d + k] = src[s + k] }
            } }
        } }
        return out
    }

    /// The rotation matrix R_z·R_y·R_x for angles in degrees, with the reference's conventions:
    /// R_x = [[1,0,0],[0,c,s],[0,−s,c]], R_y = [[c,0,−s],[0,1,0],[s,0,c]], R_z = [[c,s,0],[−s,c,0],[0,0,1]].
    public static func rotationMatrix(degrees: [Double]) -> [[Double]] {
        precondition(degrees.count == 3, "rotation needs x, y, z angles")
        let r = degrees.map { $0 * Double.pi / 180 }
        let (cx, sx, cy, sy, cz, sz) = (cos(r[0]), sin(r[0]), cos(r[1]), sin(r[1]), cos(r[2]), sin(r[2]))
        let rx = [[1, 0, 0], [0, cx, sx], [0, -sx, cx]]
        let ry = [[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]]
        let rz = [[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]]
        func mul(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
            (0..<3).map { i in (0..<3).map { j in (0..<3).reduce(0) { $0 + a[i][$1] * b[$1][j] } } }
        }
        return mul(rz, mul(ry, rx))
    }

    /// Rotation about x, then y, then z (angles in degrees).
    public static func rotate(_ x: SkeletonClip, degrees: [Double]) -> SkeletonClip {
        linear(x, rotationMatrix(degrees: degrees))
    }

    /// Adds `noise` (same shape) to every element, absent-body zeros included.
    public static func addNoise(_ x: SkeletonClip, noise: [Double]) -> SkeletonClip {
        precondition(noise.count == x.count, "noise has \(noise.count) values for \(x.count)")
        var out = x
        noise.withUnsafeBufferPointer { n in out.values.withUnsafeMutableBufferPointer { d in
            for i in 0..<d.count { d[i] += n[i] }
        } }
        return out
    }

    /// The 15 un-normalised taps w_k = exp(−k²/(2σ²)), k = −7…7.
    public static func blurKernel(sigma: Double, radius: Int = 7) -> [Double] {
        (-radius...radius).map { k in exp(-Double(k * k) / (2 * sigma * sigma)) }
    }

    /// Gaussian "blur" along time: correlation with the un-normalised kernel, zero padding,
    /// per coordinate, joint and body. It also scales the signal by Σw (1…5×), as the reference.
    public static func gaussianBlur(_ x: SkeletonClip, sigma: Double, radius: Int = 7) -> SkeletonClip {
        let w = blurKernel(sigma: sigma, radius: radius)
        var out = x
        let t = x.frames, frame = x.joints * x.bodies
        x.values.withUnsafeBufferPointer { s in out.values.withUnsafeMutableBufferPointer { d in
            for c in 0..<3 {
                for f in 0..<t {
                    let o = (c * t + f) * frame
                    for k in 0..<frame { d[o + k] = 0 }
                    for j in 0..<w.count {
                        let src = f + j - radius
                        if src < 0 || src >= t { continue }
                        let so = (c * t + src) * frame, wj = w[j]
                        for k in 0..<frame { d[o + k] += wj * s[so + k] }
                    }
                }
            }
        } }
        return out
    }

    /// Sets coordinate channel `axis` to zero.
    public static func axisMask(_ x: SkeletonClip, axis: Int) -> SkeletonClip {
        precondition((0..<3).contains(axis), "axis \(axis) outside 0...2")
        var out = x
        out.values.withUnsafeMutableBufferPointer { d in
            (d.baseAddress! + axis * x.plane).update(repeating: 0, count: x.plane)
        }
        return out
    }
}
