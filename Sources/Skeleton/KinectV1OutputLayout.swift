import Foundation

/// The joint layout Kinect v1 data is written in: its own 20 joints (`kinect-v1`), or mapped
/// onto NTU RGB+D's 25 (`ntu-rgb+d`) for encoders pretrained on NTU.
public enum KinectV1OutputLayout: String, CaseIterable, Sendable {
    case kinectV1 = "kinect-v1"
    case ntuRGBD = "ntu-rgb+d"

    public var layout: SkeletonLayout {
        switch self {
        case .kinectV1: return .kinectV1
        case .ntuRGBD: return .ntuRGBD
        }
    }

    /// For each output joint, the Kinect v1 SDK joint (0-based) it is copied from. NTU joints
    /// 1-20 share the SDK order; NTU 21 (spine shoulder) takes the shoulder centre (SDK 3),
    /// the hand tip and thumb of each side (NTU 22-23, 24-25) take that side's hand (SDK 8, 12).
    public var sourceJoints: [Int] {
        switch self {
        case .kinectV1: return Array(0..<20)
        case .ntuRGBD: return Array(0..<20) + [2, 7, 7, 11, 11]
        }
    }

    /// The `(3, maxFrames, V, bodies)` block the part files hold, zero-padded; a longer recording
    /// is centre-cropped to `maxFrames`. With 2 body slots (NTU's shape) the second stays 0, as
    /// for a one-person NTU sample. Returns the block and the frames it holds.
    public func sample(_ r: KinectV1Recording, maxFrames: Int, bodies: Int = 2) -> (values: [Float], frames: Int) {
        let joints = sourceJoints, v = joints.count
        let length = min(r.frameCount, maxFrames)
        let first = (r.frameCount - length) / 2
        var out = [Float](repeating: 0, count: 3 * maxFrames * v * bodies)
        r.values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for t in 0..<length {
                    for (j, s) in joints.enumerated() {
                        let from = ((first + t) * KinectV1Recording.jointCount + s) * 3
                        for c in 0..<3 { dst[((c * maxFrames + t) * v + j) * bodies] = src[from + c] }
                    }
                }
            }
        }
        return (out, length)
    }
}
