import Foundation

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
    /// Sensor noise (metres, per coordinate): each sample draws its level uniformly from this range.
    public var noise: ClosedRange<Double> = 0.004...0.02
    /// Camera rotation about the vertical axis (degrees, ±).
    public var viewpointDegrees = 60.0
    /// Probability that a one-person sample also shows an idle bystander in body slot 2.
    public var bystanderProbability = 0.3
    /// Probability that a two-person action lost its second person (slot 2 left empty).
    public var missingPartnerProbability = 0.1
    /// Probability that the action starts late and ends early (idle frames at both ends).
    public var idleProbability = 0.35
    /// Also write the raw `(N, 3, 300, 25, 2)` arrays.
    public var writeRawArrays = false
    public init() {}
}

/// A deterministic synthetic NTU-25 action dataset for demos and tests, written in exactly the
/// prepared-data format (`{train,val}_position.npy` (N, 3, 50, 25, 2) after the frame50
/// normalisation, and `{train,val}_label.pkl`). Train and val use disjoint subjects.
///
/// The classes (`SyntheticAction`) share their resting postures and differ in their dynamics;
/// what varies per sample and carries no class information: viewpoint, subject proportions and
/// scale, resting posture, tempo and tempo drift, phase, amplitude, handedness, idle frames,
/// position, noise level, bystanders and (rarely) a missing partner. Every sample is a pure
/// function of (config, part, index).
public enum SyntheticDataset {
    /// Writes the dataset into `directory` and returns what was written.
    @discardableResult
    public static func generate(_ config: SyntheticConfig, to directory: String) throws -> PrepareReport {
        precondition(config.valSubjects > 0 && config.valSubjects < config.subjects, "need both train and val subjects")
        precondition(!config.actions.isEmpty && config.minLength >= 2 && config.maxLength <= 300 && config.minLength <= config.maxLength)
        try DatasetPreparation.makeOutputDirectory(directory)
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
        let p = Performance(action: action, length: length, idleProbability: config.idleProbability, s: &s)

        // Body-frame poses and root placement per person; two people face each other.
        var bodies: [(shape: BodyShape, pose: (Int) -> Pose)] = []
        let b0 = shape(config, subject), b1 = shape(config, other)
        if action.isInteraction {
            let partner = Performance(action: action, length: length, idleProbability: 0, s: &s)
            let gap = s.uniform(0.38, 0.6), turnA = s.uniform(-15, 15), turnB = s.uniform(-15, 15)
            bodies = [(b0, { t in var q = p.pose(t); q.yaw = 90 + turnA; q.root = V3(gap, 0, 0); return q })]
            if s.uniform() >= config.missingPartnerProbability {
                bodies.append((b1, { t in var q = p.partnerPose(t, partner: partner); q.yaw = -90 + turnB; q.root = V3(-gap, 0, 0); return q }))
                if s.uniform() < 0.5 { bodies.swapAt(0, 1) }
            }
        } else {
            bodies = [(b0, { t in p.pose(t) })]
            if s.uniform() < config.bystanderProbability {
                let idle = Performance(action: action, length: length, idleProbability: 0, s: &s)
                let x = (s.uniform() < 0.5 ? -1.0 : 1.0) * s.uniform(0.9, 1.5), z = s.uniform(-0.5, 0.8), yaw = s.uniform(-60, 60)
                bodies.append((b1, { t in var q = idle.idle(t); q.yaw = yaw; q.root = V3(x, 0, z); return q }))
            }
        }

        // Camera: rotation about y (viewpoint), distance, height, slight tilt, sideways offset.
        let view = s.uniform(-config.viewpointDegrees, config.viewpointDegrees) * Double.pi / 180
        let distance = s.uniform(2.4, 4.0), height = s.uniform(0.6, 1.3), tilt = s.uniform(-10, 10) * Double.pi / 180
        let sideShift = s.uniform(-0.6, 0.6)
        let noiseStd = s.uniform(config.noise.lowerBound, config.noise.upperBound)
        var raw = [Float](repeating: 0, count: 3 * 300 * 25 * 2)
        let noise = DrawStream(seed: config.seed, epoch: part == .train ? 0 : 1, sample: index, rawView: 0x534E)
        let jitter = noise.normals(count: 3 * length * 25 * bodies.count, std: noiseStd)
        var k = 0
        raw.withUnsafeMutableBufferPointer { out in
            for t in 0..<length {
                for (m, body) in bodies.enumerated() {
                    let joints = body.pose(t).joints(body.shape)
                    for v in 0..<25 {
                        let w = joints[v].yawed(view)
                        let c = V3(w.x + sideShift, w.y - height, w.z + distance).pitched(tilt)
                        out[((0 * 300 + t) * 25 + v) * 2 + m] = Float(c.x + jitter[k])
                        out[((1 * 300 + t) * 25 + v) * 2 + m] = Float(c.y + jitter[k + 1])
                        out[((2 * 300 + t) * 25 + v) * 2 + m] = Float(c.z + jitter[k + 2])
                        k += 3
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
