import Foundation

/// One body of a Kinect v1 recording (MSR Action3D, UTKinect-Action3D, NW-UCLA) in the Kinect
/// SDK joint order, 20 joints: `values` is `(frameCount, 20, 3)` C order, x y z in metres.
public struct KinectV1Recording: Sendable, Equatable {
    public static let jointCount = 20
    public private(set) var frameCount: Int
    public private(set) var values: [Float]

    /// `values` must hold `frameCount · 20 · 3` numbers (the readers build it that way).
    init(frameCount: Int, values: [Float]) {
        self.frameCount = frameCount; self.values = values
    }

    @inline(__always) public func index(frame t: Int, joint j: Int, axis c: Int) -> Int { (t * Self.jointCount + j) * 3 + c }

    /// x, y, z of joint `j` (0-based, SDK order) in frame `t`.
    public func joint(_ j: Int, frame t: Int) -> [Float] {
        let i = index(frame: t, joint: j, axis: 0)
        return [values[i], values[i + 1], values[i + 2]]
    }

    /// The sensor writes exactly (0, 0, 0) for a joint it did not track; MSR Action3D stores
    /// whole untracked frames that way (mid-sequence too) and NW-UCLA has glitch frames with
    /// some joints at 0. Such a frame would put a joint at minus the origin after centring.
    public func isTracked(frame t: Int) -> Bool {
        for j in 0..<Self.jointCount {
            let i = index(frame: t, joint: j, axis: 0)
            if values[i] == 0 && values[i + 1] == 0 && values[i + 2] == 0 { return false }
        }
        return true
    }

    /// The recording without its untracked frames (see `isTracked`), and how many were dropped.
    public func droppingUntrackedFrames() -> (recording: KinectV1Recording, dropped: Int) {
        let keep = (0..<frameCount).filter(isTracked(frame:))
        guard keep.count < frameCount else { return (self, 0) }
        let per = Self.jointCount * 3
        var out = [Float]()
        out.reserveCapacity(keep.count * per)
        for t in keep { out += values[(t * per)..<((t + 1) * per)] }
        return (KinectV1Recording(frameCount: keep.count, values: out), frameCount - keep.count)
    }

    /// The frames whose positions `frames` lists, in that order.
    func selecting(frames: [Int]) -> KinectV1Recording {
        let per = Self.jointCount * 3
        var out = [Float]()
        out.reserveCapacity(frames.count * per)
        for t in frames { out += values[(t * per)..<((t + 1) * per)] }
        return KinectV1Recording(frameCount: frames.count, values: out)
    }
}
