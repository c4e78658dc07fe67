/// One sample `(3, T, V, M)` in float64, the precision the reference augments in
/// (its shear matrix is float64, so everything after it is float64).
public struct SkeletonClip: Equatable, Sendable {
    public var frames: Int
    public var joints: Int
    public var bodies: Int
    /// C order `(3, frames, joints, bodies)`.
    public var values: [Double]

    public init(frames: Int, joints: Int, bodies: Int, values: [Double]) {
        precondition(values.count == 3 * frames * joints * bodies, "\(values.count) values for (3, \(frames), \(joints), \(bodies))")
        self.frames = frames; self.joints = joints; self.bodies = bodies; self.values = values
    }

    /// From float32 values (e.g. a row of `{part}_position.npy`).
    public init(frames: Int, joints: Int, bodies: Int, floats: [Float]) {
        self.init(frames: frames, joints: joints, bodies: bodies, values: floats.map(Double.init))
    }

    public var shape: [Int] { [3, frames, joints, bodies] }
    public var count: Int { values.count }
    /// Values per channel.
    public var plane: Int { frames * joints * bodies }

    @inline(__always) public func index(_ c: Int, _ t: Int, _ v: Int, _ m: Int) -> Int {
        ((c * frames + t) * joints + v) * bodies + m
    }

    /// Values rounded to float32 (what the trainer receives).
    public var floats: [Float] { values.map(Float.init) }
}
