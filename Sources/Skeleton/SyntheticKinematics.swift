import Foundation

/// Minimal 3-vector for the synthetic skeleton's forward kinematics.
struct V3 {
    var x: Double, y: Double, z: Double
    init(_ x: Double, _ y: Double, _ z: Double) { self.x = x; self.y = y; self.z = z }
    static func + (a: V3, b: V3) -> V3 { V3(a.x + b.x, a.y + b.y, a.z + b.z) }
    static func - (a: V3, b: V3) -> V3 { V3(a.x - b.x, a.y - b.y, a.z - b.z) }
    static func * (a: V3, s: Double) -> V3 { V3(a.x * s, a.y * s, a.z * s) }
    /// Rotation about y by `a` radians.
    func yawed(_ a: Double) -> V3 { V3(cos(a) * x + sin(a) * z, y, -sin(a) * x + cos(a) * z) }
    /// Rotation about the lateral x axis by `a` radians (positive tips +y towards −z, i.e. forward).
    func pitched(_ a: Double) -> V3 { V3(x, cos(a) * y + sin(a) * z, -sin(a) * y + cos(a) * z) }
    /// Rotation about the forward z axis by `a` radians (positive tips +y towards −x).
    func rolled(_ a: Double) -> V3 { V3(cos(a) * x - sin(a) * y, sin(a) * x + cos(a) * y, z) }
}

/// A subject's body proportions in metres.
struct BodyShape {
    var spineLow = 0.25, spineHigh = 0.22, neck = 0.08, head = 0.14
    var shoulderHalf = 0.18, hipHalf = 0.09, hipDrop = 0.05
    var upperArm = 0.28, forearm = 0.25, hand = 0.08, handTip = 0.07
    var thigh = 0.42, shin = 0.40, foot = 0.14

    /// Random proportions: overall scale 0.82–1.15 and ±8 % per segment.
    static func draw(_ s: inout DrawStream) -> BodyShape {
        var b = BodyShape()
        let scale = s.uniform(0.82, 1.15)
        func j(_ v: Double, _ s: inout DrawStream) -> Double { v * scale * s.uniform(0.92, 1.08) }
        b.spineLow = j(b.spineLow, &s); b.spineHigh = j(b.spineHigh, &s); b.neck = j(b.neck, &s); b.head = j(b.head, &s)
        b.shoulderHalf = j(b.shoulderHalf, &s); b.hipHalf = j(b.hipHalf, &s); b.hipDrop = j(b.hipDrop, &s)
        b.upperArm = j(b.upperArm, &s); b.forearm = j(b.forearm, &s); b.hand = j(b.hand, &s); b.handTip = j(b.handTip, &s)
        b.thigh = j(b.thigh, &s); b.shin = j(b.shin, &s); b.foot = j(b.foot, &s)
        return b
    }
}

/// Joint angles of one frame (degrees), in the body frame: y up, facing −z, the body's left at +x.
/// Limb angles are absolute segment directions: `flex` swings the segment forward from hanging
/// down, `abd` swings it outwards to the side.
struct Pose {
    var leftUpperArm = (flex: 0.0, abd: 8.0), leftForearm = (flex: 10.0, abd: 5.0)
    var rightUpperArm = (flex: 0.0, abd: 8.0), rightForearm = (flex: 10.0, abd: 5.0)
    var leftThigh = (flex: 0.0, abd: 3.0), leftShin = (flex: 0.0, abd: 2.0)
    var rightThigh = (flex: 0.0, abd: 3.0), rightShin = (flex: 0.0, abd: 2.0)
    /// Forward bend of the trunk and twist of the upper body.
    var trunkPitch = 0.0, trunkTwist = 0.0, trunkRoll = 0.0, headPitch = 0.0
    /// Whole-body facing (yaw) and root offset in metres (body frame before yaw).
    var yaw = 0.0
    var root = V3(0, 0, 0)

    /// Unit direction for (flex, abd) on `side` (+1 left, −1 right).
    static func direction(_ a: (flex: Double, abd: Double), side: Double) -> V3 {
        let f = a.flex * Double.pi / 180, b = a.abd * Double.pi / 180
        return V3(side * cos(f) * sin(b), -cos(f) * cos(b), -sin(f))
    }

    /// The 25 NTU joints in the body's world frame (before the camera).
    func joints(_ body: BodyShape) -> [V3] {
        var p = [V3](repeating: V3(0, 0, 0), count: 25)
        let deg = Double.pi / 180
        let yawR = yaw * deg
        func world(_ v: V3) -> V3 { v.yawed(yawR) + root }
        // Legs hang from a level pelvis; the straight-leg height puts the feet near y = 0.
        let legLength = body.thigh + body.shin + body.hipDrop
        let base = V3(0, legLength + 0.05, 0)
        p[0] = world(base)
        // Trunk: pitch about the spine base, then twist and roll of the upper body.
        func trunk(_ v: V3) -> V3 { v.rolled(trunkRoll * deg).yawed(trunkTwist * deg).pitched(trunkPitch * deg) }
        let spineMid = V3(0, body.spineLow, 0), spineShoulder = V3(0, body.spineLow + body.spineHigh, 0)
        p[1] = world(base + trunk(spineMid))
        p[20] = world(base + trunk(spineShoulder))
        let neck = spineShoulder + V3(0, body.neck, 0)
        p[2] = world(base + trunk(neck))
        p[3] = world(base + trunk(neck + V3(0, body.head, 0).pitched(headPitch * deg)))
        for side in [1.0, -1.0] {
            let left = side > 0
            let shoulder = spineShoulder + V3(side * body.shoulderHalf, -0.03, 0)
            let ua = Pose.direction(left ? leftUpperArm : rightUpperArm, side: side)
            let fa = Pose.direction(left ? leftForearm : rightForearm, side: side)
            let elbow = shoulder + ua * body.upperArm
            let wrist = elbow + fa * body.forearm
            let hand = wrist + fa * body.hand
            let tip = hand + fa * body.handTip
            let thumb = hand + V3(-side * 0.03, 0, -0.03) + fa * 0.02
            let ids = left ? [4, 5, 6, 7, 21, 22] : [8, 9, 10, 11, 23, 24]
            for (k, v) in [shoulder, elbow, wrist, hand, tip, thumb].enumerated() { p[ids[k]] = world(base + trunk(v)) }

            let hip = V3(side * body.hipHalf, -body.hipDrop, 0)
            let th = Pose.direction(left ? leftThigh : rightThigh, side: side)
            let sh = Pose.direction(left ? leftShin : rightShin, side: side)
            let knee = hip + th * body.thigh
            let ankle = knee + sh * body.shin
            let foot = ankle + V3(0, -0.04, -body.foot)
            let legIds = left ? [12, 13, 14, 15] : [16, 17, 18, 19]
            for (k, v) in [hip, knee, ankle, foot].enumerated() { p[legIds[k]] = world(base + v) }
        }
        return p
    }
}
