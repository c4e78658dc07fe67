import Foundation
import XCTest
@testable import Skeleton

final class SyntheticTests: XCTestCase {
    private let classes = SyntheticAction.allCases.count

    /// 20 training and 10 validation samples per class.
    private func small(seed: UInt64 = 5) -> SyntheticConfig {
        var c = SyntheticConfig()
        c.seed = seed; c.trainCount = 20 * classes; c.valCount = 10 * classes; c.subjects = 16; c.valSubjects = 4
        return c
    }

    /// Whether body slot 2 of a prepared `(3, 50, 25, 2)` sample holds anyone.
    private func hasSecondBody(_ x: [Float]) -> Bool { stride(from: 1, to: x.count, by: 2).contains { x[$0] != 0 } }

    func testGeneratesPreparedFormatDeterministically() throws {
        let dir = try makeTempDir(self)
        let config = small()
        let report = try SyntheticDataset.generate(config, to: dir + "/a")
        XCTAssertEqual(report.written[.train], config.trainCount); XCTAssertEqual(report.written[.val], config.valCount)
        // Deterministic: regenerating a sample gives the stored row, a second run gives identical files, another seed differs.
        let stored = try NpyArray.read(dir + "/a/val_position.npy")
        for i in [0, 37, config.valCount - 1] {
            let s = SyntheticDataset.sample(config, part: .val, index: i)
            XCTAssertEqual(try Frame50().apply(s.raw, frames: 300, joints: 25, bodies: 2), stored.floats(row: i))
        }
        var twice = config; twice.trainCount = 30; twice.valCount = 30
        try SyntheticDataset.generate(twice, to: dir + "/b"); try SyntheticDataset.generate(twice, to: dir + "/c")
        for f in ["train_position.npy", "val_position.npy", "train_label.pkl", "val_label.pkl"] {
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/b/" + f), FileManager.default.contents(atPath: dir + "/c/" + f), f)
        }
        XCTAssertNotEqual(SyntheticDataset.sample(small(seed: 6), part: .val, index: 0).raw, SyntheticDataset.sample(config, part: .val, index: 0).raw)

        let train = try SkeletonDataset.open(directory: dir + "/a", part: .train)
        let val = try SkeletonDataset.open(directory: dir + "/a", part: .val)
        XCTAssertEqual(train.positions.shape, [config.trainCount, 3, 50, 25, 2])
        XCTAssertGreaterThanOrEqual(classes, 10)
        XCTAssertEqual(train.classCount, classes)
        for c in 0..<classes {
            XCTAssertEqual(train.labels.labels.filter { $0 == c }.count, 20, "class \(c) in train")
            XCTAssertEqual(val.labels.labels.filter { $0 == c }.count, 10, "class \(c) in val")
        }
        // Subject-disjoint parts (names carry the subject id).
        func subject(_ n: String) -> Int { Int(n.dropFirst(9).prefix(3))! }
        XCTAssertTrue(Set(train.labels.names.map(subject)).isDisjoint(with: val.labels.names.map(subject)))
        XCTAssertTrue(val.labels.names.map(subject).allSatisfy { $0 >= 12 })
        XCTAssertTrue(train.labels.names.map(subject).allSatisfy { $0 < 12 })

        var bystanders = 0, partners = 0, interactions = 0
        for i in 0..<train.count {
            let x = train.positions.floats(row: i), action = SyntheticAction(rawValue: train.labels.labels[i])!
            XCTAssertFalse(x.contains { !$0.isFinite })
            if action.isInteraction { interactions += 1; if hasSecondBody(x) { partners += 1 } }
            else if hasSecondBody(x) { bystanders += 1 }
            for c in 0..<3 { XCTAssertEqual(x[((c * 50 + 10) * 25 + 20) * 2], 0) } // frame50 centring on joint 21
            XCTAssertLessThan(x.map(abs).max()!, 2.5)
        }
        let single = train.count - interactions
        XCTAssertGreaterThan(Double(bystanders) / Double(single), 0.15); XCTAssertLessThan(Double(bystanders) / Double(single), 0.45)
        XCTAssertGreaterThan(Double(partners) / Double(interactions), 0.75); XCTAssertLessThan(partners, interactions + 1)
    }

    /// The dataset's point: classes are not separable by their static posture but are by motion.
    func testClassesDifferInDynamicsNotPosture() throws {
        let dir = try makeTempDir(self)
        try SyntheticDataset.generate(small(), to: dir)
        let train = try SkeletonDataset.open(directory: dir, part: .train)
        let val = try SkeletonDataset.open(directory: dir, part: .val)
        let chance = 1 / Double(classes)
        let meanPose = ClassSeparability.nearestClassMeanAccuracy(train: train, val: val, feature: .meanPose)
        let motion = ClassSeparability.nearestClassMeanAccuracy(train: train, val: val, feature: .velocityEnergy)
        print(String(format: "synthetic nearest-class-mean accuracy (%d classes): mean pose %.3f, velocity energy %.3f",
                     classes, meanPose, motion))
        XCTAssertLessThanOrEqual(meanPose, 0.35)
        XCTAssertGreaterThan(motion, 3 * chance)
        XCTAssertGreaterThan(motion, meanPose + 0.15)
    }

    func testNuisanceSwitches() throws {
        var c = small()
        let interaction = SyntheticAction.allCases.first { $0.isInteraction }!.rawValue
        let f50 = Frame50()
        // A missing partner leaves slot 2 empty; with probability 0 the partner is always there.
        c.missingPartnerProbability = 1
        for k in 0..<4 {
            let s = SyntheticDataset.sample(c, part: .train, index: interaction + k * classes)
            XCTAssertFalse(hasSecondBody(try f50.apply(s.raw, frames: 300, joints: 25, bodies: 2)))
        }
        c.missingPartnerProbability = 0; c.bystanderProbability = 0
        for k in 0..<4 {
            let s = SyntheticDataset.sample(c, part: .train, index: interaction + k * classes)
            XCTAssertTrue(hasSecondBody(try f50.apply(s.raw, frames: 300, joints: 25, bodies: 2)))
            let one = SyntheticDataset.sample(c, part: .train, index: k * classes)
            XCTAssertFalse(hasSecondBody(one.raw), "no bystanders with probability 0")
        }
        // The viewpoint spreads the camera-space facing (shoulder line in the xz plane) over a wide range.
        var yaws: [Double] = []
        for i in 0..<60 {
            let r = SyntheticDataset.sample(c, part: .train, index: i).raw
            func at(_ ch: Int, _ v: Int) -> Double { Double(r[((ch * 300 + 0) * 25 + v) * 2]) }
            yaws.append(atan2(at(2, 8) - at(2, 4), at(0, 8) - at(0, 4)) * 180 / Double.pi)
        }
        XCTAssertGreaterThan(yaws.max()! - yaws.min()!, 70)
    }

    func testTwoBeatRhythmHasZeroMeanAndTwoPeaks() {
        let n = 10_000
        var sum = 0.0, peaks = 0, previous = Performance.twoBeat(-2 * Double.pi / Double(n)), rising = false
        for i in 0..<n {
            let v = Performance.twoBeat(2 * Double.pi * Double(i) / Double(n))
            sum += v
            if v < previous && rising { peaks += 1 }
            rising = v > previous; previous = v
        }
        XCTAssertLessThan(abs(sum / Double(n)), 0.01)
        XCTAssertEqual(peaks, 2)
    }

    func testNearestClassMeanSeparatesStaticAndMotionFeatures() {
        // Two classes over (3, T=6, V=1, M=1): class 0 still, class 1 oscillating in x, same mean position,
        // plus a per-sample static offset that carries no class information.
        func sample(_ label: Int, _ offset: Float) -> [Float] {
            var x = [Float](repeating: offset, count: 18)
            if label == 1 { for t in 0..<6 { x[t] += t % 2 == 0 ? 0.5 : -0.5 } }
            return x
        }
        func dataset(_ offsets: [Float]) -> SkeletonDataset {
            var values: [Float] = [], labels: [Int] = []
            for (i, o) in offsets.enumerated() { values += sample(i % 2, o); labels.append(i % 2) }
            return SkeletonDataset(positions: NpyArray(shape: [offsets.count, 3, 6, 1, 1], floats: values),
                                   labels: LabelFile(names: labels.map { "s\($0)" }, labels: labels))
        }
        let train = dataset([0, 0, 1, 1]), val = dataset([0.9, 0.1, 0.1, 0.9])
        XCTAssertEqual(ClassSeparability.nearestClassMeanAccuracy(train: train, val: val, feature: .velocityEnergy), 1)
        XCTAssertEqual(ClassSeparability.nearestClassMeanAccuracy(train: train, val: val, feature: .meanPose), 0.5)
        // The features themselves: mean over frames, and normalised per-axis motion energy.
        let x = sample(1, 2)
        x.withUnsafeBufferPointer { b in
            XCTAssertEqual(SampleFeature.meanPose.compute(b, frames: 6, joints: 1, bodies: 1), [2, 2, 2])
            XCTAssertEqual(SampleFeature.velocityEnergy.compute(b, frames: 6, joints: 1, bodies: 1), [1, 0, 0])
        }
    }
}
