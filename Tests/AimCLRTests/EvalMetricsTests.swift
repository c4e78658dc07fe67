import XCTest
@testable import AimCLR

final class EvalMetricsTests: XCTestCase {
    // 3 samples x 4 classes.
    let scores: [Float] = [
        0.1, 0.9, 0.3, 0.2,   // ranks: 1, 2, 3, 0
        2.0, 1.0, 3.0, 4.0,   // ranks: 3, 2, 0, 1
        0.5, 0.4, 0.3, 0.2,   // ranks: 0, 1, 2, 3
    ]

    func testTopKCountsLabelsAmongTheKBestScores() {
        let labels = [2, 0, 0]
        // sample 0: label 2 is 2nd best; sample 1: label 0 is 3rd best; sample 2: label 0 is best.
        XCTAssertEqual(ClassificationMetrics.topK(scores: scores, classes: 4, labels: labels, k: 1), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(ClassificationMetrics.topK(scores: scores, classes: 4, labels: labels, k: 2), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(ClassificationMetrics.topK(scores: scores, classes: 4, labels: labels, k: 3), 1.0, accuracy: 1e-12)
        XCTAssertEqual(ClassificationMetrics.predictions(scores: scores, classes: 4), [1, 3, 0])
    }

    func testReportHasPerClassAccuracyAndConfusion() {
        let labels = [1, 3, 1]
        let r = ClassificationMetrics.report(scores: scores, classes: 4, labels: labels)
        XCTAssertEqual(r.top1, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.confusion[1], [1, 1, 0, 0])  // sample 0 right (1), sample 2 predicted 0
        XCTAssertEqual(r.confusion[3], [0, 0, 0, 1])
        XCTAssertEqual(r.perClass[1]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.perClass[3]!, 1.0, accuracy: 1e-12)
        XCTAssertNil(r.perClass[0])
        XCTAssertTrue(ClassificationMetrics.compactText(r).contains("1:50%"))
    }

    func testLabelCountsUsePythonRoundHalfToEven() {
        // Python: round(2.5) == 2, round(3.5) == 4, round(1.5) == 2, round(0.5) == 0, round(0.1 * 25) == 2.
        XCTAssertEqual(LabelSampler.count(fraction: 0.5, classSize: 5), 2)
        XCTAssertEqual(LabelSampler.count(fraction: 0.5, classSize: 7), 4)
        XCTAssertEqual(LabelSampler.count(fraction: 0.5, classSize: 3), 2)
        XCTAssertEqual(LabelSampler.count(fraction: 0.5, classSize: 1), 0)
        XCTAssertEqual(LabelSampler.count(fraction: 0.1, classSize: 25), 2)
        XCTAssertEqual(LabelSampler.count(fraction: 0.01, classSize: 50), 0)
        XCTAssertEqual(LabelSampler.count(fraction: 0.01, classSize: 151), 2)
        XCTAssertEqual(LabelSampler.count(fraction: 1.0, classSize: 9), 9)
    }

    func testLabelSamplingPicksRoundedCountPerClassReproducibly() throws {
        // Classes of 5, 7, 3 and 1 samples, interleaved.
        var labels: [Int] = []
        for (c, n) in [(0, 5), (1, 7), (2, 3), (3, 1)] { labels += Array(repeating: c, count: n) }
        labels = (0..<labels.count).map { labels[($0 * 7) % labels.count] }  // 7 is coprime with 16: a permutation
        let picked = try LabelSampler.sample(labels: labels, fraction: 0.5, seed: 0)
        XCTAssertEqual(picked, picked.sorted())
        XCTAssertEqual(Set(picked).count, picked.count)
        var perClass = [Int: Int]()
        for i in picked { perClass[labels[i], default: 0] += 1 }
        XCTAssertEqual(perClass[0], 2)   // round(2.5) = 2
        XCTAssertEqual(perClass[1], 4)   // round(3.5) = 4
        XCTAssertEqual(perClass[2], 2)   // round(1.5) = 2
        XCTAssertNil(perClass[3])        // round(0.5) = 0
        XCTAssertEqual(try LabelSampler.sample(labels: labels, fraction: 0.5, seed: 0), picked)
        let others = try (1...5).map { try LabelSampler.sample(labels: labels, fraction: 0.5, seed: UInt64($0)) }
        XCTAssertTrue(others.contains { $0 != picked }, "the seed should change the choice")
        XCTAssertEqual(try LabelSampler.sample(labels: labels, fraction: 1.0, seed: 3), Array(0..<labels.count))
        XCTAssertThrowsError(try LabelSampler.sample(labels: labels, fraction: 0, seed: 0))
    }
}
