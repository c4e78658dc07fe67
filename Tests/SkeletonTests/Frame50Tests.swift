import Foundation
import XCTest
@testable import Skeleton

final class Frame50Tests: XCTestCase {
    func testFrame50MatchesReferenceWithinTolerance() throws {
        let gendata = try NpyArray.read(try Fixtures.path("ntu/expected/gendata_data.npy"), expecting: .float32)
        let expected = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_position.npy"), expecting: .float32)
        XCTAssertEqual(expected.shape, [6, 3, 50, 25, 2])
        for i in 0..<6 {
            let got = try Frame50().apply(gendata.floats(row: i), frames: 300, joints: 25, bodies: 2)
            let want = expected.floats(row: i)
            var worst: Float = 0
            for k in 0..<got.count { worst = max(worst, abs(got[k] - want[k]) - 1e-5 * abs(want[k])) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "sample \(i)")
            // Joint 21 is exactly zero after centring; shoulders lie on the x axis per frame.
            for c in 0..<3 { for f in 0..<50 { XCTAssertEqual(got[((c * 50 + f) * 25 + 20) * 2], 0) } }
        }
    }

    func testResizeIsTwoTapLinearAndZeroLengthFails() throws {
        // One body, joint 0 moves linearly in x over L = 5 frames, everything else 0, no rotation.
        var f = Frame50(); f.yRotation = false; f.targetFrames = 8
        var x = [Float](repeating: 0, count: 3 * 10 * 25 * 1)
        for t in 0..<5 { x[(0 * 10 + t) * 25 + 0] = Float(t + 1); x[(1 * 10 + t) * 25 + 0] = 1 }
        let out = try f.apply(x, frames: 10, joints: 25, bodies: 1)
        let got = (0..<8).map { out[$0 * 25] }
        // f = (d + 0.5)·5/8 − 0.5, clamped at both ends.
        let want: [Float] = (0..<8).map { d in
            let p = (Double(d) + 0.5) * 5 / 8 - 0.5
            return Float(min(max(p, 0), 4) + 1)
        }
        for d in 0..<8 { XCTAssertEqual(got[d], want[d], accuracy: 1e-6) }
        XCTAssertThrowsError(try f.apply([Float](repeating: 0, count: 750), frames: 10, joints: 25, bodies: 1))
    }

    func testStreamsMatchReferenceExactly() throws {
        let p = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_position.npy"), expecting: .float32).floats()
        let motion = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_motion.npy"), expecting: .float32).floats()
        let bone = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_bone.npy"), expecting: .float32).floats()
        XCTAssertTrue(SkeletonStream.motion.apply(p, samples: 6, frames: 50, joints: 25, bodies: 2) == motion)
        XCTAssertTrue(SkeletonStream.bone.apply(p, samples: 6, frames: 50, joints: 25, bodies: 2) == bone)
        XCTAssertTrue(SkeletonStream.joint.apply(p, samples: 6, frames: 50, joints: 25, bodies: 2) == p)
    }

    func testStreamsOnOwnFrame50Output() throws {
        let gendata = try NpyArray.read(try Fixtures.path("ntu/expected/gendata_data.npy"), expecting: .float32)
        let bone = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_bone.npy"), expecting: .float32)
        let motion = try NpyArray.read(try Fixtures.path("ntu/expected/frame50_motion.npy"), expecting: .float32)
        let mine = try Frame50().apply(gendata.floats(row: 2), frames: 300, joints: 25, bodies: 2)
        XCTAssertLessThanOrEqual(maxAbsDiff(SkeletonStream.bone.apply(mine, samples: 1, frames: 50, joints: 25, bodies: 2), bone.floats(row: 2)), 2e-5)
        XCTAssertLessThanOrEqual(maxAbsDiff(SkeletonStream.motion.apply(mine, samples: 1, frames: 50, joints: 25, bodies: 2), motion.floats(row: 2)), 2e-5)
    }
}
