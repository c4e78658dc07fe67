import Foundation
import XCTest
@testable import AimCLR

final class RepresentationRankTests: XCTestCase {
    /// Rows ±e_j, each sign once: uncorrelated dimensions of equal variance, rank d.
    func testUncorrelatedDimensionsHaveFullRank() {
        let d = 5
        var rows: [Float] = []
        for j in 0..<d {
            for sign: Float in [1, -1] {
                var r = [Float](repeating: 0, count: d)
                r[j] = sign
                rows += r
            }
        }
        XCTAssertEqual(RepresentationRank.effectiveRank(rows, rows: 2 * d, dimension: d), Double(d), accuracy: 1e-9)
    }

    /// Every row a multiple of one vector (plus a constant offset, which centring removes): rank 1,
    /// however different the dimensions' scales.
    func testOneDirectionHasRankOne() {
        let v: [Float] = [0.001, 3, -40, 7]
        var rows: [Float] = []
        for t in [-2.0, 0.5, 1.0, 3.5, 4.0] as [Float] { rows += v.map { 10 + t * $0 } }
        // Float rows: the offset's rounding leaves correlations within ~1e-7 of ±1.
        XCTAssertEqual(RepresentationRank.effectiveRank(rows, rows: 5, dimension: 4), 1, accuracy: 1e-6)
    }

    /// Dimensions 0 and 1 identical, 2 uncorrelated with them, 3 constant (left out): correlation
    /// eigenvalues 2, 1, 0, so exp of the entropy of (2/3, 1/3).
    func testCorrelatedPairAndConstantDimension() {
        let a: [Float] = [1, -1, 1, -1], b: [Float] = [1, 1, -1, -1]
        var rows: [Float] = []
        for i in 0..<4 { rows += [a[i], 5 * a[i], b[i], 2] }
        let expected = exp(-(2.0 / 3 * log(2.0 / 3) + 1.0 / 3 * log(1.0 / 3)))
        XCTAssertEqual(RepresentationRank.effectiveRank(rows, rows: 4, dimension: 4), expected, accuracy: 1e-9)
        XCTAssertEqual(RepresentationRank.effectiveRank([Float](repeating: 3, count: 8), rows: 4, dimension: 2), 0)
    }

    /// The dimensional-collapse warning fires below a quarter of the untrained rank, names both.
    func testCollapseWarningBelowAQuarterOfTheUntrainedRank() {
        XCTAssertNil(RepresentationRank.collapseWarning(epoch: 3, rank: 3.3, untrained: 13))
        let w = RepresentationRank.collapseWarning(epoch: 3, rank: 3.2, untrained: 13)
        XCTAssertTrue(w?.hasPrefix("warning: epoch 3: the backbone's representations have collapsed") ?? false, "\(String(describing: w))")
        XCTAssertTrue(w?.contains("effective rank 3.2, below a quarter of the untrained encoder's 13.0") ?? false, "\(String(describing: w))")
        XCTAssertNil(RepresentationRank.collapseWarning(epoch: 1, rank: 0, untrained: 0))
    }

    /// Jacobi eigenvalues: a known 2 × 2, and on a random symmetric matrix the invariants a
    /// similarity transform keeps (trace, Frobenius norm) and the eigen-equation det(A − λI) = 0.
    func testJacobiEigenvalues() {
        let two = RepresentationRank.symmetricEigenvalues([2, 1, 1, 2], size: 2).sorted()
        XCTAssertEqual(two[0], 1, accuracy: 1e-12)
        XCTAssertEqual(two[1], 3, accuracy: 1e-12)
        let k = 7
        var a = [Double](repeating: 0, count: k * k)
        var state: UInt64 = 12345
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) - 0.5 }
        for i in 0..<k { for j in i..<k { let x = next(); a[i * k + j] = x; a[j * k + i] = x } }
        let eigen = RepresentationRank.symmetricEigenvalues(a, size: k)
        XCTAssertEqual(eigen.reduce(0, +), (0..<k).map { a[$0 * k + $0] }.reduce(0, +), accuracy: 1e-10)
        XCTAssertEqual(eigen.map { $0 * $0 }.reduce(0, +), a.map { $0 * $0 }.reduce(0, +), accuracy: 1e-10)
        for lambda in eigen {
            // Gaussian elimination with partial pivoting: the smallest pivot of A − λI vanishes.
            var m = a
            for i in 0..<k { m[i * k + i] -= lambda }
            var smallest = Double.infinity
            for col in 0..<k {
                let pivot = (col..<k).max { abs(m[$0 * k + col]) < abs(m[$1 * k + col]) }!
                if pivot != col { for c in 0..<k { m.swapAt(pivot * k + c, col * k + c) } }
                let p = m[col * k + col]
                smallest = min(smallest, abs(p))
                guard abs(p) > 1e-300 else { continue }
                for r in (col + 1)..<k {
                    let f = m[r * k + col] / p
                    for c in col..<k { m[r * k + c] -= f * m[col * k + c] }
                }
            }
            XCTAssertLessThan(smallest, 1e-9, "λ = \(lambda)")
        }
    }
}
