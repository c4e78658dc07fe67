import CPUKernels
import XCTest
@testable import CPUBackend

/// The pieces of the spectral temporal convolution on their own: the time transforms, the weight
/// transform and its adjoint, and the small-matrix kernel behind the transforms.
final class SpectralBasisTests: XCTestCase {
    /// synthesis · analysis is the identity on T frames (N ≥ T, so the DFT loses nothing), for odd
    /// and even minimum lengths and fewer frames than taps.
    func testSynthesisInvertsAnalysis() {
        for (t, k) in [(13, 9), (25, 9), (12, 9), (3, 9), (6, 3)] {
            let basis = SpectralBasis(frames: t, kernel: k)
            XCTAssertEqual(basis.length % 2, 1)
            XCTAssertGreaterThanOrEqual(basis.length, t + k - 1)
            let j = basis.components
            for r in 0 ..< t {
                for c in 0 ..< t {
                    var s = 0.0
                    for q in 0 ..< j { s += Double(basis.synthesis[r * j + q]) * Double(basis.analysis[q * t + c]) }
                    XCTAssertEqual(s, r == c ? 1 : 0, accuracy: 2e-6, "T \(t) K \(k) (\(r), \(c))")
                }
            }
            for q in 0 ..< j {
                for r in 0 ..< t {
                    XCTAssertEqual(basis.analysisTransposed[r * j + q], basis.analysis[q * t + r])
                    XCTAssertEqual(basis.synthesisTransposed[q * t + r], basis.synthesis[r * j + q])
                }
            }
        }
    }

    /// ⟨transform(w), G⟩ = ⟨w, weightGradient(G)⟩ for random w and G: the gradient is the adjoint.
    /// And a one-tap kernel at the centre (w[pad] = 1) has Ĝ = 1 at every frequency.
    func testWeightGradientIsTheTransformsAdjoint() {
        let (cout, cin, k) = (3, 2, 9)
        let basis = SpectralBasis(frames: 13, kernel: k)
        var rng = RefRandom(seed: 31)
        let w = rng.values(cout * cin * k).map(Float.init)
        let count = basis.blockWeightCount(cout: cout, cin: cin)
        let g = rng.values(count).map(Float.init)
        var tw = [Float](repeating: 0, count: count), dw = [Float](repeating: 0, count: w.count)
        basis.transformWeights(w, cout: cout, cin: cin, into: &tw)
        basis.weightGradient(g, cout: cout, cin: cin, into: &dw)
        let lhs = zip(tw, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(w, dw).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))

        var centre = [Float](repeating: 0, count: k)
        centre[(k - 1) / 2] = 1
        var one = [Float](repeating: 0, count: basis.blockWeightCount(cout: 1, cin: 1))
        basis.transformWeights(centre, cout: 1, cin: 1, into: &one)
        XCTAssertEqual(one[0], 1)
        for f in 1 ... basis.frequencies {
            let b = Array(one[basis.blockOffset(f, cout: 1, cin: 1) ..< basis.blockOffset(f, cout: 1, cin: 1) + 4])
            XCTAssertEqual(b, [1, 0, 0, 1], "f \(f)")
        }
    }

    /// aimclr_small_matmul against a Double reference on every path this CPU runs: strided rows,
    /// odd row counts, widths around the register tiles (32, 64) and their 8/16-wide strips,
    /// overwrite and accumulate.
    func testSmallMatmulOnEveryPath() throws {
        try CPUKernelPath.forEachSupported { path in
            var rng = RefRandom(seed: 77)
            for (rows, inner, n) in [(21, 13, 75), (13, 21, 64), (1, 3, 5), (2, 1, 33), (33, 25, 130), (4, 9, 8)] {
                let ldi = n + 3, ldo = n + 5
                let m = rng.values(rows * inner), input = rng.values(inner * ldi), prior = rng.values(rows * ldo)
                for accumulate in [0, 1] {
                    var out = prior.map(Float.init)
                    let mf = m.map(Float.init), inf = input.map(Float.init)
                    aimclr_small_matmul(mf, rows, inner, inf, ldi, &out, ldo, n, Int32(accumulate))
                    for r in 0 ..< rows {
                        for i in 0 ..< ldo {
                            var want = prior[r * ldo + i]
                            if i < n {
                                want = accumulate == 1 ? want : 0
                                for k in 0 ..< inner { want += m[r * inner + k] * input[k * ldi + i] }
                            }
                            XCTAssertEqual(Double(out[r * ldo + i]), want, accuracy: 1e-5 + 1e-5 * abs(want),
                                           "\(path) rows \(rows) inner \(inner) n \(n) acc \(accumulate) (\(r), \(i))")
                        }
                    }
                }
            }
        }
    }
}
