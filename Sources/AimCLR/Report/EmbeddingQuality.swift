import Foundation

/// How well a low-dimensional embedding keeps the neighbourhoods of the original points.
public enum EmbeddingQuality {
    /// Trustworthiness (Venna & Kaski 2001): 1 − 2 / (n k (2n − 3k − 1)) Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k),
    /// where U_k(i) are the k nearest neighbours of i in the embedding that are not among its k
    /// nearest in the original space, and r(i, j) is j's rank by original distance to i.
    /// 1 when no false neighbours appear. Needs k < n / 2.
    public static func trustworthiness(original x: [Float], dimension d: Int, embedding y: [Double],
                                       embeddingDimension e: Int = 2, k: Int) -> Double {
        let n = x.count / max(d, 1)
        guard n > 2 * k + 1, k > 0, y.count == n * e else { return .nan }
        var penalty = 0.0
        var rank = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let high = sortedNeighbours(of: i, points: x.map(Double.init), dimension: d, count: n)
            for (r, j) in high.enumerated() { rank[j] = r + 1 }
            let low = sortedNeighbours(of: i, points: y, dimension: e, count: n).prefix(k)
            for j in low where rank[j] > k { penalty += Double(rank[j] - k) }
        }
        return 1 - 2 / (Double(n) * Double(k) * (2 * Double(n) - 3 * Double(k) - 1)) * penalty
    }

    /// The mean fraction of each point's k nearest neighbours (itself excluded) that share its label.
    public static func neighbourAgreement(points: [Double], dimension d: Int, labels: [Int], k: Int) -> Double {
        let n = labels.count
        guard n > 1, k > 0, points.count == n * d else { return .nan }
        let kk = min(k, n - 1)
        var agreeing = 0
        for i in 0..<n {
            for j in sortedNeighbours(of: i, points: points, dimension: d, count: n).prefix(kk) where labels[j] == labels[i] {
                agreeing += 1
            }
        }
        return Double(agreeing) / Double(n * kk)
    }

    /// Every other point, nearest first (ties by index).
    static func sortedNeighbours(of i: Int, points: [Double], dimension d: Int, count n: Int) -> [Int] {
        var distance = [Double](repeating: 0, count: n)
        points.withUnsafeBufferPointer { p in
            distance.withUnsafeMutableBufferPointer { out in
                for j in 0..<n {
                    var s = 0.0
                    for c in 0..<d { let t = p[i * d + c] - p[j * d + c]; s += t * t }
                    out[j] = s
                }
            }
        }
        return (0..<n).filter { $0 != i }.sorted { (distance[$0], $0) < (distance[$1], $1) }
    }
}
