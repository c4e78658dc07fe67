import Foundation
import TestSupport
import XCTest
@testable import AimCLR
import Skeleton

final class EvalEnsembleTests: XCTestCase {
    func testWeightedSumOfRawLogits() throws {
        let a = try ScoreFile(logits: [1, 0, 0, 2], classes: 2, names: ["x", "y"], source: "a.npy")
        let b = try ScoreFile(logits: [0, 3, 1, 0], classes: 2, names: ["x", "y"], source: "b.npy")
        let sum = try Ensemble.combine([a, b], weights: [0.6, 0.4], labels: LabelFile(names: ["x", "y"], labels: [1, 1]))
        XCTAssertEqual(sum[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(sum[1], 1.2, accuracy: 1e-6)
        XCTAssertEqual(sum[2], 0.4, accuracy: 1e-6)
        XCTAssertEqual(sum[3], 1.2, accuracy: 1e-6)
        XCTAssertEqual(ClassificationMetrics.topK(scores: sum, classes: 2, labels: [1, 1], k: 1), 1)
    }

    func testMismatchedSampleListsAreRefusedNamingTheFirstMismatch() throws {
        let a = try ScoreFile(logits: [Float](repeating: 0, count: 6), classes: 2, names: ["s1", "s2", "s3"], source: "joint.npy")
        let b = try ScoreFile(logits: [Float](repeating: 0, count: 6), classes: 2, names: ["s1", "s9", "s3"], source: "bone.npy")
        XCTAssertThrowsError(try Ensemble.combine([a, b], weights: [0.6, 0.6])) { error in
            XCTAssertEqual(error as? EvaluationError,
                           .sampleMismatch(source: "bone.npy vs joint.npy", index: 1, found: "s9", expected: "s2"))
            let text = "\(error)"
            XCTAssertTrue(text.contains("sample 1") && text.contains("'s9'") && text.contains("'s2'"), text)
        }
        // Against the labels file too, and a different length.
        XCTAssertThrowsError(try Ensemble.combine([a], weights: [1], labels: LabelFile(names: ["s1", "s2"], labels: [0, 0])))
        XCTAssertThrowsError(try Ensemble.combine([a, a], weights: [1]))
    }

    func testScoreFilesRoundTripWithTheirNames() throws {
        let dir = ScratchPaths.make("aimclr-ens").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = try ScoreFile(logits: [1, 2, 3, 4, 5, 6], classes: 3, names: ["a", "b"], source: "mem")
        try f.write(logitsPath: dir + "/j.npy", labels: [2, 0])
        let back = try ScoreFile.read(logitsPath: dir + "/j.npy")
        XCTAssertEqual(back.logits, f.logits)
        XCTAssertEqual(back.names, ["a", "b"])
        XCTAssertEqual(back.classes, 3)
        let viaPickle = try ScoreFile.read(logitsPath: dir + "/j.npy", namesPath: dir + "/j_labels.pkl")
        XCTAssertEqual(viaPickle.names, ["a", "b"])
        XCTAssertEqual(try LabelFile.read(dir + "/j_labels.pkl").labels, [2, 0])
    }
}
