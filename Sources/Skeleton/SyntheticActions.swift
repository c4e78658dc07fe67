import Foundation

/// The action classes of the synthetic dataset.
///
/// Every class starts from the same randomly drawn resting posture and adds a roughly
/// zero-mean oscillation, so the classes share their static (mean) postures and differ in
/// their dynamics: which limb moves, in which direction, with which phase relation or
/// rhythm, and whether a partner reacts. Some pairs differ *only* in phase relation or
/// rhythm (`armsTogether`/`armsAlternating`, `armSwingForward`/`doubleBeat`,
/// `armsTogether`/`pushAndSway` when the partner is missing), which a per-joint motion
/// energy cannot tell apart but a temporal encoder can.
public enum SyntheticAction: Int, CaseIterable, Sendable {
    /// One arm (either side) swings forward and back.
    case armSwingForward
    /// One arm swings out to the side and back.
    case armSwingSideways
    /// Both arms swing forward and back together.
    case armsTogether
    /// Both arms swing forward and back in anti-phase.
    case armsAlternating
    /// Both forearms bend and stretch together; the upper arms stay.
    case elbowPumping
    /// One arm swings forward in a two-beat rhythm: two quick swings, then a pause.
    case doubleBeat
    /// The legs lift alternately.
    case marching
    /// Both knees bend and stretch together.
    case kneeBounce
    /// The upper body twists left and right.
    case torsoTwist
    /// The upper body sways sideways.
    case torsoSway
    /// Repeated small bows with a nod.
    case bowing
    /// Two people: one pushes with both arms, the partner sways back a little later.
    case pushAndSway
    /// Two people: one arm each moves up and down in step (a handshake).
    case handshake

    /// Whether two people act together.
    public var isInteraction: Bool { self == .pushAndSway || self == .handshake }
    public var name: String { String(describing: self) }

    /// One line on what moves, for listings.
    public var summary: String {
        switch self {
        case .armSwingForward: return "one arm (either side) swings forward and back"
        case .armSwingSideways: return "one arm swings out to the side and back"
        case .armsTogether: return "both arms swing forward and back together"
        case .armsAlternating: return "both arms swing forward and back in anti-phase"
        case .elbowPumping: return "both forearms bend and stretch, upper arms still"
        case .doubleBeat: return "one arm swings in a two-beat rhythm (two quick swings, a pause)"
        case .marching: return "the legs lift alternately"
        case .kneeBounce: return "both knees bend and stretch together"
        case .torsoTwist: return "the upper body twists left and right"
        case .torsoSway: return "the upper body sways sideways"
        case .bowing: return "repeated small bows with a nod"
        case .pushAndSway: return "two people: one pushes with both arms, the partner sways back"
        case .handshake: return "two people: one arm each moves up and down in step"
        }
    }
}

/// The per-sample randomness of one performance: the resting posture, tempo, tempo drift,
/// phase, amplitude, handedness, idle lead-in/out and fidgets. All classes draw from the
/// same distributions, so none of these identify the class.
struct Performance {
    let action: SyntheticAction
    let length: Int
    let rest: Pose
    let cycles: Double, phase: Double, amp: Double, side: Double
    let drift: Double, driftPhase: Double
    let activeFrom: Double, activeTo: Double
    let fidgetFreq: Double, fidgetPhase: Double, fidgetAmp: Double

    init(action: SyntheticAction, length: Int, idleProbability: Double, s: inout DrawStream) {
        self.action = action; self.length = length
        rest = Performance.restingPosture(&s)
        // Two-beat cycles hold two swings each, so they run at half the cycle rate.
        cycles = action == .doubleBeat ? s.uniform(1.0, 2.2) : s.uniform(1.5, 4.0)
        phase = s.uniform(0, 2 * Double.pi)
        amp = s.uniform(0.6, 1.4)
        side = s.uniform() < 0.5 ? 1 : -1
        drift = s.uniform(0, 0.12); driftPhase = s.uniform(0, 2 * Double.pi)
        if s.uniform() < idleProbability {
            activeFrom = s.uniform(0.05, 0.3); activeTo = s.uniform(0.7, 0.95)
        } else {
            activeFrom = -1; activeTo = 2
        }
        fidgetFreq = s.uniform(0.3, 1.5); fidgetPhase = s.uniform(0, 2 * Double.pi); fidgetAmp = s.uniform(1, 6)
    }

    /// A resting posture drawn from one distribution for every class: arms anywhere from
    /// hanging to half raised, bent elbows, a lean, a slight twist, bent knees.
    static func restingPosture(_ s: inout DrawStream) -> Pose {
        var p = Pose()
        let armFlex = s.uniform(-10, 55)
        p.leftUpperArm = (armFlex + s.uniform(-15, 15), s.uniform(5, 40))
        p.rightUpperArm = (armFlex + s.uniform(-15, 15), s.uniform(5, 40))
        p.leftForearm = (p.leftUpperArm.flex + s.uniform(0, 80), p.leftUpperArm.abd * s.uniform(0.3, 1))
        p.rightForearm = (p.rightUpperArm.flex + s.uniform(0, 80), p.rightUpperArm.abd * s.uniform(0.3, 1))
        p.leftThigh = (s.uniform(-5, 15), s.uniform(0, 10)); p.rightThigh = (s.uniform(-5, 15), s.uniform(0, 10))
        p.leftShin = (p.leftThigh.flex - s.uniform(0, 25), p.leftThigh.abd * 0.7)
        p.rightShin = (p.rightThigh.flex - s.uniform(0, 25), p.rightThigh.abd * 0.7)
        p.trunkPitch = s.uniform(-5, 25); p.trunkRoll = s.uniform(-6, 6); p.trunkTwist = s.uniform(-15, 15)
        p.headPitch = s.uniform(-10, 20)
        return p
    }

    /// The action's phase angle at frame t: tempo times time, warped by a slow drift.
    func theta(_ t: Int) -> Double {
        let u = Double(t) / Double(length)
        return 2 * Double.pi * cycles * (u + drift * sin(2 * Double.pi * u + driftPhase) / (2 * Double.pi)) + phase
    }

    /// 0 before the action starts and after it ends (idle frames), 1 while it runs, smooth ramps.
    func envelope(_ t: Int) -> Double {
        let u = Double(t) / Double(length), ramp = 0.05
        func step(_ x: Double) -> Double { let c = min(1, max(0, x)); return c * c * (3 - 2 * c) }
        return step((u - activeFrom) / ramp) * step((activeTo - u) / ramp)
    }

    /// Two short swings per cycle and a pause, with zero mean over a cycle.
    static func twoBeat(_ theta: Double) -> Double {
        let x = theta.truncatingRemainder(dividingBy: 2 * Double.pi) / (2 * Double.pi)
        let u = x < 0 ? x + 1 : x
        func beat(_ centre: Double) -> Double { let d = (u - centre) / 0.09; return exp(-d * d) }
        return 1.6 * (beat(0.2) + beat(0.45)) - 0.51
    }

    /// The resting posture with small idle motion of the arms and trunk.
    func idle(_ t: Int) -> Pose {
        var p = rest
        let f = sin(2 * Double.pi * fidgetFreq * Double(t) / Double(length) + fidgetPhase) * fidgetAmp
        p.leftUpperArm.flex += f * 0.6; p.rightUpperArm.flex -= f * 0.6
        p.leftForearm.flex += f; p.rightForearm.flex -= f
        p.trunkPitch += f * 0.2; p.trunkTwist += f * 0.4; p.headPitch += f * 0.5
        return p
    }

    /// Adds `d` degrees of flexion to the upper arm and forearm of one side (+1 left, −1 right).
    static func swingArm(_ p: inout Pose, side: Double, flex d: Double = 0, abd a: Double = 0) {
        if side > 0 {
            p.leftUpperArm.flex += d; p.leftForearm.flex += d; p.leftUpperArm.abd += a; p.leftForearm.abd += a
        } else {
            p.rightUpperArm.flex += d; p.rightForearm.flex += d; p.rightUpperArm.abd += a; p.rightForearm.abd += a
        }
    }

    /// The single performer's (or the first person's) pose at frame t.
    func pose(_ t: Int) -> Pose {
        var p = idle(t)
        let th = theta(t), e = envelope(t) * amp, o = sin(th)
        switch action {
        case .armSwingForward:
            Performance.swingArm(&p, side: side, flex: 45 * e * o)
        case .armSwingSideways:
            Performance.swingArm(&p, side: side, abd: 35 * e * o)
        case .armsTogether, .pushAndSway:
            Performance.swingArm(&p, side: 1, flex: 40 * e * o)
            Performance.swingArm(&p, side: -1, flex: 40 * e * o)
        case .armsAlternating:
            Performance.swingArm(&p, side: 1, flex: 40 * e * o)
            Performance.swingArm(&p, side: -1, flex: -40 * e * o)
        case .elbowPumping:
            p.leftForearm.flex += 50 * e * o; p.rightForearm.flex += 50 * e * o
        case .doubleBeat:
            Performance.swingArm(&p, side: side, flex: 45 * e * Performance.twoBeat(th))
        case .marching:
            let l = 25 * e * o
            p.leftThigh.flex += l; p.rightThigh.flex -= l
            p.leftShin.flex += l - 25 * e * (max(0, o) - 1 / Double.pi)
            p.rightShin.flex -= l + 25 * e * (max(0, -o) - 1 / Double.pi)
        case .kneeBounce:
            let k = 22 * e * o
            p.leftThigh.flex += k; p.rightThigh.flex += k
            p.leftShin.flex -= k; p.rightShin.flex -= k
        case .torsoTwist:
            p.trunkTwist += 28 * e * o
        case .torsoSway:
            p.trunkRoll += 16 * e * o
        case .bowing:
            p.trunkPitch += 15 * e * o; p.headPitch += 15 * e * sin(th - 0.6)
        case .handshake:
            Performance.swingArm(&p, side: -1, flex: 20 * e * o)
        }
        return p
    }

    /// The partner's pose at frame t in a two-person action, given the partner's own
    /// performance (resting posture, fidgets): it reacts to this performance's phase.
    func partnerPose(_ t: Int, partner: Performance) -> Pose {
        var p = partner.idle(t)
        let th = theta(t), e = envelope(t) * amp
        switch action {
        case .pushAndSway:
            p.trunkPitch -= 12 * e * sin(th - partner.phase.truncatingRemainder(dividingBy: 1.2) - 0.6)
            p.headPitch -= 8 * e * sin(th - 1.2)
        case .handshake:
            Performance.swingArm(&p, side: -1, flex: 20 * e * sin(th))
        default:
            break
        }
        return p
    }
}
