import Foundation

/// t-distributed stochastic neighbour embedding (van der Maaten & Hinton 2008) into the plane,
/// deterministic for a seed: exact gradients for small sets, Barnes–Hut (van der Maaten 2014)
/// above `barnesHutThreshold` points.
///
/// Affinities are calibrated per point by binary search to the perplexity; the optimiser is
/// gradient descent with momentum (0.5, then 0.8) and per-coordinate gains, with the
/// affinities exaggerated for the first `exaggerationIterations`.
public struct TSNE: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        /// Exact below `barnesHutThreshold` points, Barnes–Hut from there.
        case auto
        case exact
        case barnesHut = "barnes-hut"
    }

    public var perplexity = 30.0
    public var iterations = 1000
    public var earlyExaggeration = 12.0
    public var exaggerationIterations = 250
    /// nil: max(N / earlyExaggeration / 4, 50), which converges at every size tried (Belkina et al. 2019).
    public var learningRate: Double?
    /// Barnes–Hut opening angle: a cell counts as one body when its width / distance < theta.
    public var theta = 0.5
    public var seed: UInt64 = 0
    public var method: Method = .auto

    /// Exact t-SNE costs N² per step: on 64-d representations (release, 2 cores) it took 3.4 s for
    /// 1000 points and 13.4 s for 2048, Barnes–Hut 1.7 s and 4.2 s with the same neighbour agreement.
    public static let barnesHutThreshold = 1000

    public init() {}

    public func usesBarnesHut(count: Int) -> Bool {
        switch method {
        case .auto: return count > Self.barnesHutThreshold
        case .exact: return false
        case .barnesHut: return true
        }
    }

    /// Embeds the `count` rows of `points` (row-major, `dimension` columns) into the plane;
    /// returns (count, 2) row-major coordinates.
    public func embed(_ points: [Float], count n: Int, dimension d: Int) -> [Double] {
        guard n > 1, d > 0, points.count == n * d else { return [Double](repeating: 0, count: max(n, 0) * 2) }
        // A perplexity at or above N - 1 cannot be reached; the largest sensible one is (N - 1) / 3.
        let p = min(perplexity, max(1, Double(n - 1) / 3))
        let barnesHut = usesBarnesHut(count: n)
        let affinities: TSNEAffinities = points.withUnsafeBufferPointer { x in
            barnesHut ? .sparse(x, count: n, dimension: d, perplexity: p, neighbours: min(n - 1, Int(3 * p)))
                      : .dense(x, count: n, dimension: d, perplexity: p)
        }
        var y = initialLayout(count: n)
        optimise(&y, count: n, affinities: affinities, barnesHut: barnesHut)
        return y
    }

    /// Gaussian N(0, 1e-4) starting positions from the seed.
    func initialLayout(count n: Int) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<(2 * n)).map { _ in 1e-2 * random.nextGaussian() }
    }

    func optimise(_ y: inout [Double], count n: Int, affinities: TSNEAffinities, barnesHut: Bool) {
        let rate = learningRate ?? max(Double(n) / earlyExaggeration / 4, 50)
        var gradient = [Double](repeating: 0, count: 2 * n)
        var update = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        let forces = TSNEForces(count: n, theta: theta)
        for iteration in 0..<iterations {
            let early = iteration < exaggerationIterations
            let exaggeration = early ? earlyExaggeration : 1
            let momentum = early ? 0.5 : 0.8
            y.withUnsafeBufferPointer { yp in
                gradient.withUnsafeMutableBufferPointer { g in
                    if barnesHut {
                        forces.barnesHutGradient(y: yp, affinities: affinities, exaggeration: exaggeration, into: g)
                    } else {
                        forces.exactGradient(y: yp, affinities: affinities, exaggeration: exaggeration, into: g)
                    }
                }
            }
            y.withUnsafeMutableBufferPointer { yp in
                gradient.withUnsafeBufferPointer { g in
                    update.withUnsafeMutableBufferPointer { u in
                        gains.withUnsafeMutableBufferPointer { k in
                            var mean = (0.0, 0.0)
                            for i in 0..<(2 * n) {
                                // Gains grow where the gradient keeps pointing against the step, shrink where it agrees.
                                k[i] = (g[i] > 0) != (u[i] > 0) ? k[i] + 0.2 : max(k[i] * 0.8, 0.01)
                                u[i] = momentum * u[i] - rate * k[i] * g[i]
                                yp[i] += u[i]
                                if i & 1 == 0 { mean.0 += yp[i] } else { mean.1 += yp[i] }
                            }
                            // Re-centred: the cost does not see translation, and drift only loses precision.
                            mean.0 /= Double(n); mean.1 /= Double(n)
                            for i in 0..<n { yp[2 * i] -= mean.0; yp[2 * i + 1] -= mean.1 }
                        }
                    }
                }
            }
        }
    }
}

/// A small seeded generator (SplitMix64) for the starting layout and subsampling.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    mutating func nextUnit() -> Double { (Double(next() >> 11) + 1) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    mutating func nextGaussian() -> Double {
        sqrt(-2 * log(nextUnit())) * cos(2 * Double.pi * nextUnit())
    }
}
