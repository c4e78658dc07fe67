import Foundation

/// A point-region quadtree over planar points holding each cell's point count and centre of
/// mass, for Barnes–Hut summation. Cells split until each holds one point, except at
/// `maximumDepth`, where coincident points share a cell.
struct QuadTree {
    struct Node {
        var centreX: Double, centreY: Double, halfWidth: Double
        var massX = 0.0, massY = 0.0
        var count = 0
        /// Index of the first of four consecutive children (NW, NE, SW, SE order by quadrant bits); -1 for a leaf.
        var firstChild: Int32 = -1
        /// The point a one-point leaf holds; -1 otherwise.
        var point: Int32 = -1
    }

    static let maximumDepth = 48
    private(set) var nodes: [Node] = []

    /// Builds the tree of `count` points stored as (x, y) pairs.
    init(points y: UnsafeBufferPointer<Double>, count n: Int) {
        var minX = Double.infinity, minY = Double.infinity, maxX = -Double.infinity, maxY = -Double.infinity
        for i in 0..<n {
            minX = min(minX, y[2 * i]); maxX = max(maxX, y[2 * i])
            minY = min(minY, y[2 * i + 1]); maxY = max(maxY, y[2 * i + 1])
        }
        guard n > 0, minX.isFinite, maxX.isFinite, minY.isFinite, maxY.isFinite else {
            nodes = [Node(centreX: 0, centreY: 0, halfWidth: 1)]
            return
        }
        // Slightly larger than the bounding square, so points on the upper edges fall inside.
        let half = max(maxX - minX, maxY - minY, 1e-9) * (0.5 + 1e-6)
        nodes.reserveCapacity(4 * n)
        nodes.append(Node(centreX: (minX + maxX) / 2, centreY: (minY + maxY) / 2, halfWidth: half))
        for i in 0..<n { insert(Int32(i), points: y) }
        for k in nodes.indices where nodes[k].count > 0 {
            nodes[k].massX /= Double(nodes[k].count)
            nodes[k].massY /= Double(nodes[k].count)
        }
    }

    private func quadrant(of node: Node, x: Double, y: Double) -> Int32 {
        (x >= node.centreX ? 1 : 0) + (y >= node.centreY ? 2 : 0)
    }

    private mutating func subdivide(_ k: Int) {
        let parent = nodes[k]
        let h = parent.halfWidth / 2
        nodes[k].firstChild = Int32(nodes.count)
        for q in 0..<4 {
            nodes.append(Node(centreX: parent.centreX + (q & 1 == 1 ? h : -h),
                              centreY: parent.centreY + (q & 2 == 2 ? h : -h), halfWidth: h))
        }
    }

    /// Adds point `p` to every cell on its path (mass sums; divided by the counts at the end).
    private mutating func insert(_ p: Int32, points: UnsafeBufferPointer<Double>) {
        let x = points[2 * Int(p)], y = points[2 * Int(p) + 1]
        var k = 0, depth = 0
        while true {
            nodes[k].count += 1
            nodes[k].massX += x; nodes[k].massY += y
            if nodes[k].firstChild < 0 {
                if nodes[k].count == 1 { nodes[k].point = p; return }
                if depth >= Self.maximumDepth { nodes[k].point = -1; return }
                // Split, moving the resident point one level down, then continue with p.
                let resident = nodes[k].point
                nodes[k].point = -1
                subdivide(k)
                if resident >= 0 {
                    let residentX = points[2 * Int(resident)], residentY = points[2 * Int(resident) + 1]
                    let c = Int(nodes[k].firstChild + quadrant(of: nodes[k], x: residentX, y: residentY))
                    nodes[c].count = 1
                    nodes[c].massX = residentX; nodes[c].massY = residentY
                    nodes[c].point = resident
                }
            }
            k = Int(nodes[k].firstChild + quadrant(of: nodes[k], x: x, y: y))
            depth += 1
        }
    }
}
