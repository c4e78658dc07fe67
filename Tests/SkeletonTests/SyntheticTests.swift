import Foundation
import XCTest
@testable import Skeleton

final class SyntheticTests: XCTestCase {
    private func small(seed: UInt64 = 5) -> SyntheticConfig {
        var c = SyntheticConfig()
        c.seed = seed; c.trainCount = 240; c.valCount = 120; c.subjects = 16; c.valSubjects = 4
        return c
    }

    /// Nearest-class-mean accuracy on val, from the train means of `feature`.
    private func centroidAccuracy(_ train: SkeletonDataset, _ val: SkeletonDataset, feature: ([Float]) -> [Float]) -> Double {
        let classes = train.classCount
        var means: [[Double]] = [], counts = [Double](repeating: 0, count: classes)
        for i in 0..<train.count {
            let f = feature(train.positions.floats(row: i)), l = train.labels.labels[i]
            if means.isEmpty { means = [[Double]](repeating: [Double](repeating: 0, count: f.count), count: classes) }
            for k in 0..<f.count { means[l][k] += Double(f[k]) }
            counts[l] += 1
        }
        for l in 0..<classes { for k in 0..<means[l].count { means[l][k] /= counts[l] } }
        var correct = 0
        for i in 0..<val.count {
            let f = feature(val.positions.floats(row: i))
            var best = 0, bestD = Double.infinity
            for l in 0..<classes {
                var d = 0.0
                for k in 0..<f.count { let m = means[l][k] - Double(f[k]); d += m * m }
                if d < bestD { bestD = d; best = l }
            }
            if best == val.labels.labels[i] { correct += 1 }
        }
        return Double(correct) / Double(val.count)
    }

    func testGeneratesPreparedFormatDeterministically() throws {
        let dir = try makeTempDir(self)
        let report = try SyntheticDataset.generate(small(), to: dir + "/a")
        XCTAssertEqual(report.written[.train], 240); XCTAssertEqual(report.written[.val], 120)
        // Deterministic: regenerating a sample gives the stored row; another seed differs.
        let stored = try NpyArray.read(dir + "/a/val_position.npy")
        for i in [0, 37, 119] {
            let s = SyntheticDataset.sample(small(), part: .val, index: i)
            XCTAssertEqual(try Frame50().apply(s.raw, frames: 300, joints: 25, bodies: 2), stored.floats(row: i))
        }
        XCTAssertNotEqual(SyntheticDataset.sample(small(seed: 6), part: .val, index: 0).raw, SyntheticDataset.sample(small(), part: .val, index: 0).raw)
        let train = try SkeletonDataset.open(directory: dir + "/a", part: .train)
        let val = try SkeletonDataset.open(directory: dir + "/a", part: .val)
        XCTAssertEqual(train.positions.shape, [240, 3, 50, 25, 2]); XCTAssertEqual(train.classCount, 12)
        XCTAssertGreaterThanOrEqual(SyntheticAction.allCases.count, 10)
        for c in 0..<12 { XCTAssertEqual(train.labels.labels.filter { $0 == c }.count, 20) }
        // Subject-disjoint parts (names carry the subject id).
        func subject(_ n: String) -> Int { Int(n.dropFirst(9).prefix(3))! }
        XCTAssertTrue(Set(train.labels.names.map(subject)).isDisjoint(with: val.labels.names.map(subject)))
        XCTAssertTrue(val.labels.names.map(subject).allSatisfy { $0 >= 12 })

        var bystanders = 0
        for i in 0..<train.count {
            let x = train.positions.floats(row: i), label = train.labels.labels[i]
            XCTAssertFalse(x.contains { !$0.isFinite })
            let second = (0..<7500).filter { $0 % 2 == 1 }.contains { x[$0] != 0 }
            if SyntheticAction(rawValue: label)!.isInteraction { XCTAssertTrue(second, "interaction \(i) needs two people") }
            else if second { bystanders += 1 }
            for c in 0..<3 { XCTAssertEqual(x[((c * 50 + 10) * 25 + 20) * 2], 0) } // frame50 centring on joint 21
            XCTAssertLessThan(x.map(abs).max()!, 2.5)
        }
        XCTAssertGreaterThan(bystanders, 20); XCTAssertLessThan(bystanders, 110)

        // Learnable but not trivial: the full-pose nearest centroid beats chance yet is far from perfect,
        // and the mean pose of each coordinate alone is weaker still.
        let full = centroidAccuracy(train, val) { $0 }
        let meanPose = centroidAccuracy(train, val) { x in
            var f = [Float](repeating: 0, count: 75) // per (channel, joint): mean over frames of body 1
            for c in 0..<3 { for t in 0..<50 { for v in 0..<25 { f[c * 25 + v] += x[((c * 50 + t) * 25 + v) * 2] / 50 } } }
            return f
        }
        var bestSingle = 0.0
        for k in 0..<75 {
            bestSingle = max(bestSingle, centroidAccuracy(train, val) { x in
                let c = k / 25, v = k % 25
                return [(0..<50).reduce(Float(0)) { $0 + x[((c * 50 + $1) * 25 + v) * 2] } / 50]
            })
        }
        print("synthetic nearest-centroid accuracy: full \(full), mean pose \(meanPose), best single coordinate mean \(bestSingle)")
        XCTAssertGreaterThan(full, 2.0 / 12); XCTAssertLessThan(full, 0.9)
        XCTAssertLessThan(meanPose, 0.9)
        XCTAssertLessThan(bestSingle, 0.5)
    }
}
