import CPUBackend
import Foundation
import XCTest
@testable import AimCLR

final class EvalKNNTests: XCTestCase {
    // Memory bank in 2-d: (1, 0) class 0, (0.8, 0.6) class 1, (0, 1) class 1, (-2, 0) class 2 (not unit: normalised).
    let bank = FeatureSet(values: [1, 0, 0.8, 0.6, 0, 1, -2, 0], dimension: 2, labels: [0, 1, 1, 2],
                          names: ["b0", "b1", "b2", "b3"])
    // Query (3, 0.3) normalises to (c, c/10) with c = 1/sqrt(1.01).
    let query = FeatureSet(values: [3, 0.3], dimension: 2, labels: [1], names: ["q"])

    func testVotesAreExpOfCosineOverTemperatureFromTheKNearest() throws {
        let c = 1 / (1.01).squareRoot()
        let s0 = c, s1 = 0.8 * c + 0.6 * c / 10  // cosines to b0 and b1, the two nearest
        let knn = KNNClassifier(k: 2, temperature: 0.5)
        let scores = try knn.scores(bank: bank, test: query, classes: 3, device: CPUDevice(threads: 1))
        XCTAssertEqual(Double(scores[0]), exp(s0 / 0.5), accuracy: 1e-4 * exp(s0 / 0.5))
        XCTAssertEqual(Double(scores[1]), exp(s1 / 0.5), accuracy: 1e-4 * exp(s1 / 0.5))
        XCTAssertEqual(scores[2], 0)  // b3 is not among the 2 nearest
    }

    func testTemperatureDecidesBetweenOneCloseAndTwoFarNeighbours() throws {
        let d = CPUDevice(threads: 1)
        // k = 3 takes b0 (class 0) and b1, b2 (class 1). Nearly flat weights: two votes win.
        let flat = try KNNClassifier(k: 3, temperature: 100).evaluate(bank: bank, test: query, device: d)
        XCTAssertEqual(flat.confusion[1], [0, 1, 0])
        // T = 0.1: exp(9.95) beats exp(8.56) + exp(1.0), so the closest neighbour's class wins.
        let sharp = try KNNClassifier(k: 3, temperature: 0.1).evaluate(bank: bank, test: query, device: d)
        XCTAssertEqual(sharp.confusion[1], [1, 0, 0])
        XCTAssertEqual(sharp.top1, 0)
        XCTAssertEqual(sharp.top5, 1)
    }

    func testKLargerThanTheBankUsesEveryEntry() throws {
        let scores = try KNNClassifier(k: 200, temperature: 1).scores(bank: bank, test: query, classes: 3, device: CPUDevice(threads: 1))
        let c = 1 / (1.01).squareRoot()
        XCTAssertEqual(Double(scores[2]), exp(-c), accuracy: 1e-5)  // b3 = -(1, 0) after normalisation
    }

    func testHeapSelectionFindsTheKLargest() {
        var row = (0..<500).map { Float(($0 * 7919) % 503) / 503 }
        row[17] = 5
        for k in [1, 7, 200] {
            var values = [Float](repeating: 0, count: k), indices = [Int](repeating: 0, count: k)
            row.withUnsafeBufferPointer { r in
                KNNClassifier.topK(r.baseAddress!, count: r.count, k: k, values: &values, indices: &indices)
            }
            XCTAssertEqual(values.sorted(by: >), Array(row.sorted(by: >).prefix(k)), "k = \(k)")
            XCTAssertTrue(indices.contains(17))
            for (v, i) in zip(values, indices) { XCTAssertEqual(row[i], v) }
        }
    }
}
