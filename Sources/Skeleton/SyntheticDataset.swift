import Foundation

/// The action classes of the synthetic dataset, each a joint-angle trajectory.
public enum SyntheticAction: Int, CaseIterable, Sendable {
    case waving, clapping, kicking, squatting, jumping, armRaise, punching, bowing, turning, walkingInPlace, handshake, pushing

    /// Whether two people act together.
    public var isInteraction: Bool { self == .handshake || self == .pushing }
    public var name: String { String(describing: self) }
}

/// Settings of `SyntheticDataset.generate`.
public struct SyntheticConfig: Sendable {
    public var seed: UInt64 = 0
    public var trainCount = 2048
    public var valCount = 512
    /// Subjects (body shapes); the last `valSubjects` appear only in validation.
    public var subjects = 40
    public var valSubjects = 10
    public var actions = SyntheticAction.allCases
    /// Raw recording length range before the frame50 resize.
    public var minLength = 60
    public var maxLength = 140
    /// Sensor noise (metres, per coordinate).
    public var noise = 0.01
    /// Probability that a one-person sample also shows an idle bystander in body slot 2.
    public var bystanderProbability = 0.3
    /// Also write the raw `(N, 3, 300, 25, 2)` arrays.
    public var writeRawArrays = false
    public init() {}
}

/// A deterministic synthetic NTU-25 action dataset for demos and tests: realistic enough to
/// need learning (viewpoints, body shapes, speeds, phases, handedness, idle motion, bystanders,
/// noise), written in exactly the prepared-data format (`{train,val}_position.npy` (N, 3, 50, 25, 2)
/// after the frame50 normalisation, and `{train,val}_label.pkl`). Train and val use disjoint subjects.
public enum SyntheticDataset {
    /// Writes the dataset into `directory` and returns what was written.
    @discardableResult
    public static func generate(_ config: SyntheticConfig, to directory: String) throws -> PrepareReport {
        precondition(config.valSubjects > 0 && config.valSubjects < config.subjects, "need both train and val subjects")
        precondition(!config.actions.isEmpty && config.minLength >= 2 && config.maxLength <= 300 && config.minLength <= config.maxLength)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var report = PrepareReport()
        for part in DataPart.allCases {
            let n = part == .train ? config.trainCount : config.valCount
            let writer = try PartWriter(part: part, directory: directory, frames: 50, rawFrames: 300, writeRaw: config.writeRawArrays)
            for i in 0..<n {
                let s = sample(config, part: part, index: i)
                try writer.add(raw: s.raw, name: s.name, label: s.label, frame50: Frame50())
            }
            report.outputs += try writer.finish()
            report.written[part] = n
        }
        return report
    }

    /// Subject ids used by `part`.
    public static func subjects(_ config: SyntheticConfig, part: DataPart) -> Range<Int> {
        part == .train ? 0..<(config.subjects - config.valSubjects) : (config.subjects - config.valSubjects)..<config.subjects
    }

    /// One raw sample `(3, 300, 25, 2)` with its name and label; a pure function of (config, part, index).
    public static func sample(_ config: SyntheticConfig, part: DataPart, index: Int) -> (raw: [Float], name: String, label: Int, subject: Int) {
        var s = DrawStream(seed: config.seed, epoch: part == .train ? 0 : 1, sample: index, rawView: 0x5359)
        let action = config.actions[index % config.actions.count]
        let label = action.rawValue
        let pool = subjects(config, part: part)
        let subject = pool.lowerBound + s.int(0, pool.count - 1)
        let other = pool.lowerBound + s.int(0, pool.count - 1)
        let length = s.int(config.minLength, config.maxLength)
        let p = Performance(action: action, length: length, s: &s)

        var bodies: [(shape: BodyShape, poses: (Int) -> Pose)] = []
        let b0 = shape(config, subject), b1 = shape(config, other)
        if action.isInteraction {
            let (a, b) = p.interaction(&s)
            bodies = [(b0, a), (b1, b)]
            if s.uniform() < 0.5 { bodies.swapAt(0, 1) }
        } else {
            bodies = [(b0, { t in p.pose(t) })]
            if s.uniform() < config.bystanderProbability { bodies.append((b1, p.bystander(&s))) }
        }

        // Camera: rotation about y (viewpoint), distance, height, slight tilt.
        let view = s.uniform(-50, 50) * Double.pi / 180
        let distance = s.uniform(2.6, 3.8), height = s.uniform(0.7, 1.2), tilt = s.uniform(-8, 8) * Double.pi / 180
        let sideShift = s.uniform(-0.4, 0.4)
        var raw = [Float](repeating: 0, count: 3 * 300 * 25 * 2)
        let noise = DrawStream(seed: config.seed, epoch: part == .train ? 0 : 1, sample: index, rawView: 0x534E)
        let jitter = noise.normals(count: 3 * length * 25 * bodies.count, std: config.noise)
        var k = 0
        for t in 0..<length {
            for (m, body) in bodies.enumerated() {
                let joints = body.poses(t).joints(body.shape)
                for v in 0..<25 {
                    let w = joints[v].yawed(view)
                    var c = V3(w.x + sideShift, w.y - height, w.z + distance)
                    c = c.pitched(tilt)
                    for (ci, value) in [c.x, c.y, c.z].enumerated() {
                        raw[((ci * 300 + t) * 25 + v) * 2 + m] = Float(value + jitter[k]); k += 1
                    }
                }
            }
        }
        let name = String(format: "SYN%05dS%03dA%03d%@", index, subject, label + 1, part == .train ? "T" : "V")
        return (raw, name, label, subject)
    }

    static func shape(_ config: SyntheticConfig, _ subject: Int) -> BodyShape {
        var s = DrawStream(seed: config.seed, epoch: 99, sample: subject, rawView: 0x5355)
        return BodyShape.draw(&s)
    }
}

/// The per-sample randomness of one performance: speed, phase, amplitude, handedness, facing and fidgets.
struct Performance {
    let action: SyntheticAction
    let length: Int
    let cycles: Double, phase: Double, amp: Double, side: Double, facing: Double
    let fidgetFreq: Double, fidgetPhase: Double, fidgetAmp: Double
    let armRest: Double, lean: Double, elbowRest: Double, stance: Double

    init(action: SyntheticAction, length: Int, s: inout DrawStream) {
        self.action = action; self.length = length
        let base: ClosedRange<Double>
        switch action {
        case .waving, .clapping, .punching, .walkingInPlace, .handshake: base = 2.5...5
        case .kicking, .jumping, .squatting: base = 1.2...3
        case .armRaise, .bowing, .turning, .pushing: base = 0.7...1.4
        }
        cycles = s.uniform(base.lowerBound, base.upperBound)
        phase = s.uniform(0, 2 * Double.pi)
        amp = s.uniform(0.65, 1.35)
        side = s.uniform() < 0.5 ? 1 : -1
        facing = s.uniform(-35, 35)
        fidgetFreq = s.uniform(0.5, 2.5); fidgetPhase = s.uniform(0, 2 * Double.pi); fidgetAmp = s.uniform(2, 12)
        armRest = s.uniform(3, 28); lean = s.uniform(-8, 14)
        elbowRest = s.uniform(0, 55); stance = s.uniform(0, 12)
    }

    /// Oscillation sin(2π·cycles·t/L + phase).
    func osc(_ t: Int, _ extra: Double = 0) -> Double { sin(2 * Double.pi * cycles * Double(t) / Double(length) + phase + extra) }
    /// 0…1 raised-cosine envelope with the same cycles.
    func hump(_ t: Int) -> Double { 0.5 - 0.5 * cos(2 * Double.pi * cycles * Double(t) / Double(length) + phase) }

    /// A standing pose with idle motion.
    func idle(_ t: Int) -> Pose {
        var p = Pose()
        let f = sin(2 * Double.pi * fidgetFreq * Double(t) / Double(length) + fidgetPhase) * fidgetAmp
        p.leftUpperArm = (f * 0.6, armRest + f * 0.3); p.rightUpperArm = (-f * 0.6, armRest - f * 0.3)
        p.leftForearm = (elbowRest + f, armRest * 0.5); p.rightForearm = (elbowRest - f, armRest * 0.5)
        p.leftThigh = (0, stance); p.rightThigh = (0, stance); p.leftShin = (0, stance * 0.7); p.rightShin = (0, stance * 0.7)
        p.trunkPitch = lean + f * 0.2; p.trunkTwist = f * 0.5; p.headPitch = f * 0.5
        p.yaw = facing
        return p
    }

    /// Mirrors a one-sided pose so the action uses the other arm/leg when side == −1.
    func sided(_ p: Pose) -> Pose {
        guard side < 0 else { return p }
        var q = p
        q.leftUpperArm = p.rightUpperArm; q.rightUpperArm = p.leftUpperArm
        q.leftForearm = p.rightForearm; q.rightForearm = p.leftForearm
        q.leftThigh = p.rightThigh; q.rightThigh = p.leftThigh
        q.leftShin = p.rightShin; q.rightShin = p.leftShin
        q.trunkTwist = -p.trunkTwist; q.trunkRoll = -p.trunkRoll
        return q
    }

    func pose(_ t: Int) -> Pose {
        var p = idle(t)
        let a = amp, o = osc(t), h = hump(t)
        switch action {
        case .waving:
            p.rightUpperArm = (25 * a, 95 + 15 * a); p.rightForearm = (25, 150 + 25 * o * a)
            p = sided(p)
        case .clapping:
            p.leftUpperArm = (55 * a, 25 + 12 * o); p.rightUpperArm = (55 * a, 25 + 12 * o)
            p.leftForearm = (85, -15 + 28 * o); p.rightForearm = (85, -15 + 28 * o)
        case .kicking:
            let k = max(0, o)
            p.rightThigh = (80 * a * k, 3); p.rightShin = (80 * a * k * (0.45 + 0.55 * k), 2)
            p.leftUpperArm.abd += 20 * k; p.rightUpperArm.abd += 20 * k; p.trunkPitch -= 10 * k
            p = sided(p)
        case .squatting:
            let d = h * a
            p.leftThigh = (85 * d, 8); p.rightThigh = (85 * d, 8)
            p.leftShin = (-55 * d, 4); p.rightShin = (-55 * d, 4)
            p.leftUpperArm.flex = 75 * d; p.rightUpperArm.flex = 75 * d
            p.leftForearm.flex = 80 * d; p.rightForearm.flex = 80 * d
            p.trunkPitch += 30 * d
            p.root = V3(0, -0.45 * d * 0.9, 0)
        case .jumping:
            let air = max(0, o), crouch = max(0, -o)
            p.root = V3(0, 0.3 * a * air, 0)
            p.leftThigh = (45 * crouch, 5); p.rightThigh = (45 * crouch, 5)
            p.leftShin = (-40 * crouch, 3); p.rightShin = (-40 * crouch, 3)
            p.leftUpperArm = (130 * air * a - 30 * crouch, 15); p.rightUpperArm = (130 * air * a - 30 * crouch, 15)
            p.leftForearm = (140 * air * a, 10); p.rightForearm = (140 * air * a, 10)
            p.trunkPitch += 20 * crouch
        case .armRaise:
            let r = min(175, 10 + 160 * h * a)
            p.leftUpperArm = (5, r); p.rightUpperArm = (5, r); p.leftForearm = (8, min(178, r + 5)); p.rightForearm = (8, min(178, r + 5))
        case .punching:
            let l = max(0, o), r = max(0, -o)
            p.leftUpperArm = (65 + 20 * l * a, 12); p.rightUpperArm = (65 + 20 * r * a, 12)
            p.leftForearm = (130 - 45 * l * a, -10 + 15 * l); p.rightForearm = (130 - 45 * r * a, -10 + 15 * r)
            p.trunkTwist = 15 * o * a
        case .bowing:
            p.trunkPitch = lean + 55 * a * h; p.headPitch = 20 * h
            p.leftUpperArm.flex = p.trunkPitch * 0.9; p.rightUpperArm.flex = p.trunkPitch * 0.9
            p.leftForearm.flex = p.trunkPitch; p.rightForearm.flex = p.trunkPitch
        case .turning:
            p.yaw = facing + side * 140 * a * Double(t) / Double(length)
            let step = osc(t) * 20
            p.leftThigh = (max(0, step), 3); p.rightThigh = (max(0, -step), 3)
            p.leftShin = (max(0, step) * 0.3, 2); p.rightShin = (max(0, -step) * 0.3, 2)
        case .walkingInPlace:
            let l = max(0, o), r = max(0, -o)
            p.leftThigh = (45 * a * l, 3); p.rightThigh = (45 * a * r, 3)
            p.leftShin = (-25 * a * l, 2); p.rightShin = (-25 * a * r, 2)
            p.leftUpperArm.flex = -25 * o * a; p.rightUpperArm.flex = 25 * o * a
            p.leftForearm.flex = -25 * o * a + 25; p.rightForearm.flex = 25 * o * a + 25
        case .handshake, .pushing:
            break // built by interaction()
        }
        return p
    }

    /// Two people facing each other; returns (person A, person B).
    func interaction(_ s: inout DrawStream) -> ((Int) -> Pose, (Int) -> Pose) {
        let gap = s.uniform(0.38, 0.55)
        var otherDraws = s
        _ = otherDraws.uniform()
        let partner = Performance(action: action, length: length, s: &otherDraws)
        let me = self
        let a: (Int) -> Pose = { t in
            var p = me.idle(t)
            let o = me.osc(t), h = me.hump(t)
            p.yaw = 90 + me.facing * 0.3; p.root = V3(gap, 0, 0)
            if me.action == .handshake {
                p.rightUpperArm = (50, -5); p.rightForearm = (80 + 12 * o * me.amp, -20)
            } else {
                p.leftUpperArm = (70 + 20 * h, -5); p.rightUpperArm = (70 + 20 * h, -5)
                p.leftForearm = (110 - 30 * h * me.amp, -5); p.rightForearm = (110 - 30 * h * me.amp, -5)
                p.trunkPitch = me.lean + 12 * h
                p.root = V3(gap - 0.1 * h, 0, 0)
            }
            return p
        }
        let b: (Int) -> Pose = { t in
            var p = partner.idle(t)
            let o = me.osc(t), h = me.hump(t)
            p.yaw = -90 + partner.facing * 0.3; p.root = V3(-gap, 0, 0)
            if me.action == .handshake {
                p.rightUpperArm = (50, -5); p.rightForearm = (80 + 12 * o * me.amp, -20)
            } else {
                p.trunkPitch = partner.lean - 18 * h * me.amp
                p.leftUpperArm = (35 * h, 30 * h); p.rightUpperArm = (35 * h, 30 * h)
                p.root = V3(-gap - 0.35 * h * me.amp, 0, 0)
            }
            return p
        }
        return (a, b)
    }

    /// An idle person standing to one side.
    func bystander(_ s: inout DrawStream) -> (Int) -> Pose {
        var d = s
        let other = Performance(action: .armRaise, length: length, s: &d)
        let x = (s.uniform() < 0.5 ? -1.0 : 1.0) * s.uniform(0.9, 1.5), z = s.uniform(-0.5, 0.8), yaw = s.uniform(-60, 60)
        return { t in
            var p = other.idle(t)
            p.yaw = yaw; p.root = V3(x, 0, z)
            return p
        }
    }
}
