import Foundation

/// The t-SNE cost gradient with respect to the planar positions:
/// ∂C/∂y_i = 4 Σ_j (α P_ij − q_ij) (1 + |y_i − y_j|²)⁻¹ (y_i − y_j), α the exaggeration.
struct TSNEForces {
    let count: Int
    let theta: Double

    init(count: Int, theta: Double) { self.count = count; self.theta = theta }

    /// Every pair, O(N²) per call.
    func exactGradient(y: UnsafeBufferPointer<Double>, affinities: TSNEAffinities, exaggeration: Double,
                       into g: UnsafeMutableBufferPointer<Double>) {
        let n = count
        // Z = Σ_{i≠j} (1 + d_ij²)⁻¹ first; then each row's forces in a second pass.
        var z = 0.0
        for i in 0..<n {
            let yi0 = y[2 * i], yi1 = y[2 * i + 1]
            for j in (i + 1)..<n {
                let a = yi0 - y[2 * j], b = yi1 - y[2 * j + 1]
                z += 2 / (1 + a * a + b * b)
            }
        }
        let inverseZ = z > 0 ? 1 / z : 0
        affinities.values.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let yi0 = y[2 * i], yi1 = y[2 * i + 1]
                var g0 = 0.0, g1 = 0.0
                let row = i * n
                for j in 0..<n where j != i {
                    let a = yi0 - y[2 * j], b = yi1 - y[2 * j + 1]
                    let w = 1 / (1 + a * a + b * b)
                    let f = (exaggeration * p[row + j] - w * inverseZ) * w
                    g0 += f * a; g1 += f * b
                }
                g[2 * i] = 4 * g0; g[2 * i + 1] = 4 * g1
            }
        }
    }

    /// Attraction over the sparse affinities, repulsion through a quadtree: a cell whose width
    /// over its distance is below theta acts as one body at its centre of mass.
    func barnesHutGradient(y: UnsafeBufferPointer<Double>, affinities: TSNEAffinities, exaggeration: Double,
                           into g: UnsafeMutableBufferPointer<Double>) {
        let n = count
        let tree = QuadTree(points: y, count: n)
        var z = 0.0
        var repulsion = [Double](repeating: 0, count: 2 * n)
        repulsion.withUnsafeMutableBufferPointer { r in
            tree.nodes.withUnsafeBufferPointer { nodes in
                var stack = [Int32](repeating: 0, count: 4 * (QuadTree.maximumDepth + 2))
                stack.withUnsafeMutableBufferPointer { s in
                    let theta2 = theta * theta
                    for i in 0..<n {
                        let yi0 = y[2 * i], yi1 = y[2 * i + 1]
                        var f0 = 0.0, f1 = 0.0, sumQ = 0.0
                        var top = 1
                        s[0] = 0
                        while top > 0 {
                            top -= 1
                            let node = nodes[Int(s[top])]
                            if node.count == 0 || (node.count == 1 && node.point == Int32(i)) { continue }
                            let a = yi0 - node.massX, b = yi1 - node.massY
                            let d2 = a * a + b * b
                            let width = 2 * node.halfWidth
                            if node.firstChild < 0 || width * width < theta2 * d2 {
                                let q = 1 / (1 + d2)
                                let m = Double(node.count)
                                sumQ += m * q
                                let qq = m * q * q
                                f0 += qq * a; f1 += qq * b
                            } else {
                                for c in 0..<Int32(4) { s[top] = node.firstChild + c; top += 1 }
                            }
                        }
                        r[2 * i] = f0; r[2 * i + 1] = f1
                        z += sumQ
                    }
                }
            }
        }
        let inverseZ = z > 0 ? 1 / z : 0
        affinities.values.withUnsafeBufferPointer { p in
            affinities.columns.withUnsafeBufferPointer { columns in
                affinities.rowStart.withUnsafeBufferPointer { start in
                    repulsion.withUnsafeBufferPointer { r in
                        for i in 0..<n {
                            let yi0 = y[2 * i], yi1 = y[2 * i + 1]
                            var a0 = 0.0, a1 = 0.0
                            for e in start[i]..<start[i + 1] {
                                let j = Int(columns[e])
                                let a = yi0 - y[2 * j], b = yi1 - y[2 * j + 1]
                                let w = p[e] / (1 + a * a + b * b)
                                a0 += w * a; a1 += w * b
                            }
                            g[2 * i] = 4 * (exaggeration * a0 - r[2 * i] * inverseZ)
                            g[2 * i + 1] = 4 * (exaggeration * a1 - r[2 * i + 1] * inverseZ)
                        }
                    }
                }
            }
        }
    }
}
