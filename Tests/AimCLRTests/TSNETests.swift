import Foundation
import XCTest
@testable import AimCLR

/// t-SNE on Gaussian clusters whose centres lie far apart relative to their spread.
final class TSNETests: XCTestCase {
    /// `clusters` × `perCluster` points in `dimension`-D: centres N(0, 8²) per coordinate, points
    /// N(centre, 1). Centres are then about 50 apart, points within a cluster about 6.
    static func clusters(_ clusters: Int, perCluster: Int, dimension: Int, seed: UInt64) -> (points: [Float], labels: [Int]) {
        var random = SplitMix64(seed: seed)
        let centres = (0..<(clusters * dimension)).map { _ in 8 * random.nextGaussian() }
        var points: [Float] = [], labels: [Int] = []
        for i in 0..<(clusters * perCluster) {
            let c = i % clusters
            labels.append(c)
            for d in 0..<dimension { points.append(Float(centres[c * dimension + d] + random.nextGaussian())) }
        }
        return (points, labels)
    }

    func testExactTSNESeparatesClusters() {
        let data = Self.clusters(5, perCluster: 40, dimension: 20, seed: 1)
        var tsne = TSNE()
        tsne.perplexity = 20
        XCTAssertFalse(tsne.usesBarnesHut(count: 200))
        let y = tsne.embed(data.points, count: 200, dimension: 20)
        XCTAssertEqual(y.count, 400)
        XCTAssertTrue(y.allSatisfy(\.isFinite))
        // Bounds: no false neighbour ranks far (trustworthiness ≥ 0.9) and nearly all 5 nearest
        // neighbours in the plane come from the same cluster (≥ 0.95).
        for k in [5, 10] {
            let t = EmbeddingQuality.trustworthiness(original: data.points, dimension: 20, embedding: y, k: k)
            print("t-SNE 200 points: trustworthiness k=\(k): \(t)")
            XCTAssertGreaterThanOrEqual(t, 0.9, "trustworthiness k=\(k)")
        }
        let agreement = EmbeddingQuality.neighbourAgreement(points: y, dimension: 2, labels: data.labels, k: 5)
        print("t-SNE 200 points: 5-NN class agreement \(agreement)")
        XCTAssertGreaterThanOrEqual(agreement, 0.95)
    }

    func testSameSeedSameLayoutOtherSeedOtherLayout() {
        let data = Self.clusters(3, perCluster: 20, dimension: 8, seed: 2)
        var tsne = TSNE()
        tsne.perplexity = 10
        tsne.iterations = 300
        tsne.seed = 7
        let a = tsne.embed(data.points, count: 60, dimension: 8)
        let b = tsne.embed(data.points, count: 60, dimension: 8)
        XCTAssertEqual(a, b)
        tsne.seed = 8
        let c = tsne.embed(data.points, count: 60, dimension: 8)
        XCTAssertNotEqual(a, c)
        tsne.method = .barnesHut
        tsne.seed = 7
        XCTAssertEqual(tsne.embed(data.points, count: 60, dimension: 8), tsne.embed(data.points, count: 60, dimension: 8))
    }

    func testBarnesHutAgreesWithExactOnClusterSeparation() {
        let data = Self.clusters(6, perCluster: 50, dimension: 20, seed: 3)
        var tsne = TSNE()
        tsne.perplexity = 20
        tsne.method = .exact
        let exact = tsne.embed(data.points, count: 300, dimension: 20)
        tsne.method = .barnesHut
        XCTAssertTrue(tsne.usesBarnesHut(count: 300))
        let bh = tsne.embed(data.points, count: 300, dimension: 20)
        XCTAssertTrue(bh.allSatisfy(\.isFinite))
        let agreeExact = EmbeddingQuality.neighbourAgreement(points: exact, dimension: 2, labels: data.labels, k: 5)
        let agreeBH = EmbeddingQuality.neighbourAgreement(points: bh, dimension: 2, labels: data.labels, k: 5)
        let trustExact = EmbeddingQuality.trustworthiness(original: data.points, dimension: 20, embedding: exact, k: 7)
        let trustBH = EmbeddingQuality.trustworthiness(original: data.points, dimension: 20, embedding: bh, k: 7)
        print("t-SNE 300 points: agreement exact \(agreeExact) BH \(agreeBH); trustworthiness exact \(trustExact) BH \(trustBH)")
        XCTAssertGreaterThanOrEqual(agreeExact, 0.95)
        XCTAssertGreaterThanOrEqual(agreeBH, 0.95)
        XCTAssertGreaterThanOrEqual(trustBH, 0.9)
        XCTAssertEqual(trustBH, trustExact, accuracy: 0.05)
    }

    func testBarnesHutGradientIsExactAtThetaZero() {
        // With every neighbour kept and θ = 0 no cell is summarised: the quadtree sum must be the exact sum.
        let n = 50, data = Self.clusters(3, perCluster: 17, dimension: 6, seed: 6)
        let points = Array(data.points.prefix(n * 6))
        let (dense, sparse) = points.withUnsafeBufferPointer {
            (TSNEAffinities.dense($0, count: n, dimension: 6, perplexity: 8),
             TSNEAffinities.sparse($0, count: n, dimension: 6, perplexity: 8, neighbours: n - 1))
        }
        var random = SplitMix64(seed: 9)
        let y = (0..<(2 * n)).map { _ in 3 * random.nextGaussian() }
        var exact = [Double](repeating: 0, count: 2 * n), tree = exact, approximate = exact
        y.withUnsafeBufferPointer { yp in
            exact.withUnsafeMutableBufferPointer { TSNEForces(count: n, theta: 0).exactGradient(y: yp, affinities: dense, exaggeration: 4, into: $0) }
            tree.withUnsafeMutableBufferPointer { TSNEForces(count: n, theta: 0).barnesHutGradient(y: yp, affinities: sparse, exaggeration: 4, into: $0) }
            approximate.withUnsafeMutableBufferPointer { TSNEForces(count: n, theta: 0.5).barnesHutGradient(y: yp, affinities: sparse, exaggeration: 4, into: $0) }
        }
        let scale = exact.map(abs).max() ?? 1
        for i in 0..<(2 * n) { XCTAssertEqual(tree[i], exact[i], accuracy: 1e-9 * scale) }
        // θ = 0.5 approximates: within 5 % of the largest component here.
        let error = zip(approximate, exact).map { abs($0 - $1) }.max() ?? 0
        print("Barnes-Hut θ 0.5 gradient error: \(error / scale) of the largest component")
        XCTAssertLessThan(error, 0.05 * scale)
    }

    func testAffinitiesMatchThePerplexity() {
        // Each conditional row's entropy is ln(perplexity) after calibration.
        let data = Self.clusters(2, perCluster: 30, dimension: 5, seed: 4)
        let distances = (1..<60).map { j in
            data.points.withUnsafeBufferPointer { Double(TSNEAffinities.squaredDistance($0, 0, j, 5)) }
        }
        var p = [Double](repeating: 0, count: distances.count)
        distances.withUnsafeBufferPointer { d in
            p.withUnsafeMutableBufferPointer { TSNEAffinities.calibrate(distances: d, perplexity: 12, into: $0) }
        }
        let entropy = -p.filter { $0 > 0 }.reduce(0) { $0 + $1 * log($1) }
        XCTAssertEqual(entropy, log(12), accuracy: 1e-4)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
    }

    func testTinyInputsDoNotTrap() {
        XCTAssertEqual(TSNE().embed([], count: 0, dimension: 3), [])
        XCTAssertEqual(TSNE().embed([1, 2, 3], count: 1, dimension: 3), [0, 0])
        // Coincident points: the quadtree caps its depth instead of splitting forever.
        var tsne = TSNE()
        tsne.method = .barnesHut
        tsne.iterations = 50
        let y = tsne.embed([Float](repeating: 1, count: 40), count: 20, dimension: 2)
        XCTAssertTrue(y.allSatisfy(\.isFinite))
    }
}
