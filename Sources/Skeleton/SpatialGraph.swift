/// The ST-GCN graph adjacency with the "spatial" partition, exactly as the reference
/// `Graph(layout, strategy='spatial')` builds it, quirks included.
///
/// Hop distances are only computed up to `maxHop`; anything farther is +∞, and the
/// partition compares distances with `==`, so two joints that are both "far" from the
/// centre compare as equally distant (∞ == ∞). With maxHop = 1 this puts almost every
/// limb edge in the "root" group.
public struct SpatialGraph: Sendable {
    public let layout: SkeletonLayout
    public let maxHop: Int
    public let dilation: Int
    /// Hop distance per (i, j); `Int.max` stands for ∞.
    public let hopDistance: [[Int]]
    /// (K, V, V) partitions, row-major: `A[k][i][j]` at `(k * V + i) * V + j`.
    /// Row is the source joint, column the target: `out[j] = Σ_i x[i] · A[k][i][j]`.
    public let adjacency: [Float]
    public var partitionCount: Int { adjacency.count / (layout.jointCount * layout.jointCount) }
    public var shape: [Int] { [partitionCount, layout.jointCount, layout.jointCount] }

    public init(layout: SkeletonLayout, maxHop: Int = 1, dilation: Int = 1) {
        self.layout = layout; self.maxHop = maxHop; self.dilation = dilation
        let v = layout.jointCount
        let inf = Int.max
        // get_hop_distance: powers of (A + I) up to max_hop, assigned from the farthest down.
        var a = [[Bool]](repeating: [Bool](repeating: false, count: v), count: v)
        for i in 0..<v { a[i][i] = true }
        for (i, j) in layout.edgePairs { a[i][j] = true; a[j][i] = true }
        var identity = [[Bool]](repeating: [Bool](repeating: false, count: v), count: v)
        for i in 0..<v { identity[i][i] = true }
        var reach: [[[Bool]]] = [identity] // reach[d][i][j]: j within d hops of i
        var current = identity
        for _ in 0..<maxHop { // current = current · (A + I), boolean
            var next = [[Bool]](repeating: [Bool](repeating: false, count: v), count: v)
            for i in 0..<v { for k in 0..<v where current[i][k] { for j in 0..<v where a[k][j] { next[i][j] = true } } }
            reach.append(next); current = next
        }
        var hop = [[Int]](repeating: [Int](repeating: inf, count: v), count: v)
        for d in stride(from: maxHop, through: 0, by: -1) {
            for i in 0..<v { for j in 0..<v where reach[d][i][j] { hop[i][j] = d } }
        }
        hopDistance = hop

        // normalize_digraph over the hops the partition uses: column j divided by its sum.
        let hops = Array(stride(from: 0, through: maxHop, by: dilation))
        var adj = [[Double]](repeating: [Double](repeating: 0, count: v), count: v)
        for i in 0..<v { for j in 0..<v where hops.contains(hop[i][j]) { adj[i][j] = 1 } }
        var norm = adj
        for j in 0..<v {
            let deg = (0..<v).reduce(0.0) { $0 + adj[$1][j] }
            if deg > 0 { for i in 0..<v { norm[i][j] = adj[i][j] / deg } }
        }

        let c = layout.center
        var parts: [[[Double]]] = []
        for h in hops {
            var root = [[Double]](repeating: [Double](repeating: 0, count: v), count: v)
            var close = root, further = root
            for i in 0..<v { for j in 0..<v where hop[j][i] == h {
                if hop[j][c] == hop[i][c] { root[j][i] = norm[j][i] }        // ∞ == ∞ lands here
                else if hop[j][c] > hop[i][c] { close[j][i] = norm[j][i] }
                else { further[j][i] = norm[j][i] }
            } }
            if h == 0 { parts.append(root) } else {
                parts.append((0..<v).map { i in (0..<v).map { j in root[i][j] + close[i][j] } })
                parts.append(further)
            }
        }
        adjacency = parts.flatMap { $0.flatMap { $0.map { Float($0) } } }
    }

    /// Entry `A[k][i][j]`.
    public func value(_ k: Int, _ i: Int, _ j: Int) -> Float {
        let v = layout.jointCount
        return adjacency[(k * v + i) * v + j]
    }
}
