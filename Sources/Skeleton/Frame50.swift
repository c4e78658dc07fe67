import Foundation

/// The reference "frame50" normalisation (`NTUMotionProcessor(data_type='relative', t_length=50,
/// y_rotation=True, sampling='resize')`) that turns a padded raw sample into what AimCLR trains on.
public struct Frame50: Sendable {
    /// Output frames.
    public var targetFrames = 50
    /// Joint whose non-zero frames (body 0) define the valid length L (spine base).
    public var lengthJoint = 0
    /// Joint subtracted per frame and body (spine shoulder).
    public var originJoint = 20
    /// Shoulders whose difference is rotated onto the x axis per frame.
    public var leftShoulder = 4
    public var rightShoulder = 8
    /// Apply the per-frame rotation about y.
    public var yRotation = true

    public init() {}

    /// The normalisation joints of a built-in layout: the length joint is the hip centre /
    /// spine base (index 0 in both), the origin is the layout's centre (NTU spine shoulder 20,
    /// Kinect v1 shoulder centre 2) and the shoulders are 4 (left) and 8 (right) in both,
    /// because the first 20 NTU joints share the Kinect SDK order.
    public init(layout: SkeletonLayout) throws {
        guard layout == .ntuRGBD || layout == .kinectV1 else {
            throw LayoutError.invalid(layout: layout.name, reason: "frame50 knows the centre and shoulder joints of ntu-rgb+d and kinect-v1 only")
        }
        originJoint = layout.center
        lengthJoint = 0; leftShoulder = 4; rightShoulder = 8
    }

    /// Why a sample cannot be normalised.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noValidFrames
        public var description: String { "no valid frames: the length joint of body 1 is zero in every frame" }
    }

    /// Normalises one sample `(3, T, V, M)` (C order) into `out`, `(3, targetFrames, V, M)`.
    ///
    /// Steps, as the reference: (1) L = number of frames whose length joint of body 0 is
    /// non-zero (a count; the valid frames are assumed to be the prefix); (2) subtract the
    /// origin joint per frame and body; (3) resize frames 0..<L of each body to the target
    /// length with OpenCV-style two-tap linear interpolation (half-pixel centres);
    /// (4) rotate every frame about y so the shoulder vector lies on the x axis, with one
    /// sign for the whole sequence per body. Computed in double, rounded once to float.
    public func apply(_ input: UnsafeBufferPointer<Float>, frames t: Int, joints v: Int, bodies m: Int,
                      into out: UnsafeMutableBufferPointer<Float>) throws {
        precondition(input.count == 3 * t * v * m, "input holds \(input.count) values, shape (3, \(t), \(v), \(m)) needs \(3 * t * v * m)")
        let d = targetFrames
        precondition(out.count == 3 * d * v * m, "output holds \(out.count) values, needs \(3 * d * v * m)")
        let src = input.baseAddress!, dst = out.baseAddress!
        @inline(__always) func at(_ c: Int, _ f: Int, _ j: Int, _ b: Int) -> Int { ((c * t + f) * v + j) * m + b }

        // 1. Valid length on the uncentred data.
        var length = 0
        for f in 0..<t {
            let s = abs(src[at(0, f, lengthJoint, 0)]) + abs(src[at(1, f, lengthJoint, 0)]) + abs(src[at(2, f, lengthJoint, 0)])
            if s != 0 { length += 1 }
        }
        guard length > 0 else { throw Failure.noValidFrames }

        // 2 + 3. Centre and resize, per body; the resize reads centred frames 0..<L.
        let outPlane = d * v * m
        let work = UnsafeMutablePointer<Double>.allocate(capacity: 3 * outPlane)
        defer { work.deallocate() }
        @inline(__always) func wat(_ c: Int, _ f: Int, _ j: Int, _ b: Int) -> Int { ((c * d + f) * v + j) * m + b }
        let scale = Double(length) / Double(d)
        for f in 0..<d {
            let x = (Double(f) + 0.5) * scale - 0.5
            var i = Int(x.rounded(.down))
            var alpha = x - Double(i)
            if i < 0 { i = 0; alpha = 0 }
            if i >= length - 1 { i = length - 1; alpha = 0 }
            let i1 = min(i + 1, length - 1)
            for c in 0..<3 { for j in 0..<v { for b in 0..<m {
                let a0 = Double(src[at(c, i, j, b)]) - Double(src[at(c, i, originJoint, b)])
                let a1 = Double(src[at(c, i1, j, b)]) - Double(src[at(c, i1, originJoint, b)])
                work[wat(c, f, j, b)] = (1 - alpha) * a0 + alpha * a1
            } } }
        }

        // 4. Rotation about y per frame, one sign per body.
        if yRotation {
            var cosT = [Double](repeating: 1, count: d), sinT = [Double](repeating: 0, count: d)
            for b in 0..<m {
                var sumZ = 0.0
                for f in 0..<d {
                    let ux = work[wat(0, f, rightShoulder, b)] - work[wat(0, f, leftShoulder, b)]
                    let uz = work[wat(2, f, rightShoulder, b)] - work[wat(2, f, leftShoulder, b)]
                    sumZ += uz
                    let theta = acos(ux / ((ux * ux + uz * uz).squareRoot() + 1e-4))
                    cosT[f] = cos(theta); sinT[f] = sin(theta)
                }
                let sign: Double = sumZ >= 0 ? -1 : 1
                for f in 0..<d {
                    let cs = cosT[f], sn = sign * sinT[f]
                    for j in 0..<v {
                        let ix = wat(0, f, j, b), iz = wat(2, f, j, b)
                        let x = work[ix], z = work[iz]
                        work[ix] = cs * x - sn * z
                        work[iz] = sn * x + cs * z
                    }
                }
            }
        }
        for i in 0..<(3 * outPlane) { dst[i] = Float(work[i]) }
    }

    /// Convenience wrapper returning a new array.
    public func apply(_ input: [Float], frames t: Int, joints v: Int, bodies m: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: 3 * targetFrames * v * m)
        try input.withUnsafeBufferPointer { i in try out.withUnsafeMutableBufferPointer { try apply(i, frames: t, joints: v, bodies: m, into: $0) } }
        return out
    }
}
