import Compute

/// ST-GCN spatial graph convolution: a 1x1 convolution to K·Cout channels (one GEMM),
/// then per partition k a right-multiplication of the (Cout·N·T, V) view of z_k by
/// Â_k = A_k ⊙ E_k (K GEMMs accumulating into y).
extension CPUDevice {
    /// Â = A ⊙ E into the device's adjacency scratch (K·V·V floats).
    private func effectiveAdjacency(_ a: Tensor, _ e: Tensor) -> UnsafeMutablePointer<Float> {
        let n = a.count
        precondition(e.count == n, "graphConv: adjacency \(a.shape) vs importance \(e.shape)")
        let h = adjacencyScratch.floats(n)
        let pa = a.cpuPointer, pe = e.cpuPointer
        for i in 0 ..< n { h[i] = pa[i] * pe[i] }
        return h
    }

    private func graphGeometry(_ op: String, x: Tensor, input: ActivationShape, weight: Tensor,
                               adjacency: Tensor) -> (k: Int, cout: Int, cols: Int) {
        let k = adjacency.dim(0), v = input.joints
        let cin = input.channels
        let kc = weight.dim(0)
        precondition(k > 0 && kc % k == 0 && weight.count == kc * cin && adjacency.count == k * v * v
                     && x.count >= input.count,
                     "\(op): x \(x.shape) as \(input), weight \(weight.shape), adjacency \(adjacency.shape)")
        return (k, kc / k, input.plane)
    }

    public func graphConvForward(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                 adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor) {
        let (k, cout, cols) = graphGeometry("graphConvForward", x: x, input: input, weight: weight,
                                            adjacency: adjacency)
        let cin = input.channels, v = input.joints
        precondition(bias.count >= k * cout && z.count >= k * cout * cols && y.count >= cout * cols,
                     "graphConvForward: bias \(bias.shape), z \(z.shape), y \(y.shape) for K \(k), Cout \(cout), \(input)")
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer
        let pz = z.cpuPointer, py = y.cpuPointer
        let flops = 2 * Double(k * cout) * Double(cin * cols) + 2 * Double(k * cout * cols * v)
        measure("graphConvForward", flops: flops) {
            let ahat = effectiveAdjacency(adjacency, importance)
            broadcastRows(pb, into: pz, rows: k * cout, cols: cols, threads: threads)
            sgemmParallel(transA: false, transB: false, m: k * cout, n: cols, k: cin, alpha: 1,
                          a: pw, lda: cin, b: px, ldb: cols, beta: 1, c: pz, ldc: cols)
            let rows = cout * cols / v        // Cout·N·T
            // Each worker mixes its own rows for every partition while they are in its cache.
            withSingleThreadedBLAS {
                parallelFor(rows, threads: threads, minimumPerChunk: 1024) { range in
                    let r0 = range.lowerBound
                    for p in 0 ..< k {
                        sgemm(transA: false, transB: false, m: range.count, n: v, k: v, alpha: 1,
                              a: pz + p * cout * cols + r0 * v, lda: v, b: ahat + p * v * v, ldb: v,
                              beta: p == 0 ? 0 : 1, c: py + r0 * v, ldc: v)
                    }
                }
            }
        }
    }

    public func graphConvBackward(x: Tensor, input: ActivationShape, weight: Tensor,
                                  adjacency: Tensor, importance: Tensor, z: Tensor, dy: Tensor,
                                  dz: Tensor, dx: Tensor?, accumulate: Bool,
                                  dWeight: Tensor, dBias: Tensor, dImportance: Tensor) {
        let (k, cout, cols) = graphGeometry("graphConvBackward", x: x, input: input, weight: weight,
                                            adjacency: adjacency)
        let cin = input.channels, v = input.joints
        precondition(z.count >= k * cout * cols && dz.count >= k * cout * cols && dy.count >= cout * cols
                     && dWeight.count >= k * cout * cin && dBias.count >= k * cout
                     && dImportance.count >= k * v * v && (dx == nil || dx!.count >= input.count),
                     "graphConvBackward: z \(z.shape), dz \(dz.shape), dy \(dy.shape), dW \(dWeight.shape) for K \(k), Cout \(cout), \(input)")
        let px = x.cpuPointer, pw = weight.cpuPointer, pz = z.cpuPointer, pdy = dy.cpuPointer
        let pdz = dz.cpuPointer, pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pde = dImportance.cpuPointer, pa = adjacency.cpuPointer
        let pdx = dx?.cpuPointer
        let flops = 4 * Double(k * cout * cols * v) + 2 * Double(k * cout) * Double(cin * cols) * (dx == nil ? 1 : 2)
        measure("graphConvBackward", flops: flops) {
            let ahat = effectiveAdjacency(adjacency, importance)
            let rows = cout * cols / v
            // dz_k(Cout·N·T, V) = dy · Â_kᵀ, each worker on its own rows for every partition.
            withSingleThreadedBLAS {
                parallelFor(rows, threads: threads, minimumPerChunk: 1024) { range in
                    let r0 = range.lowerBound
                    for p in 0 ..< k {
                        sgemm(transA: false, transB: true, m: range.count, n: v, k: v, alpha: 1,
                              a: pdy + r0 * v, lda: v, b: ahat + p * v * v, ldb: v,
                              beta: 0, c: pdz + p * cout * cols + r0 * v, ldc: v)
                    }
                }
            }
            for p in 0 ..< k {
                // ∂L/∂Â_k(V, V) = z_kᵀ · dy
                sgemmLongK(transA: true, transB: false, m: v, n: v, k: rows, alpha: 1,
                           a: pz + p * cout * cols, lda: v, b: pdy, ldb: v,
                           beta: 0, c: pde + p * v * v, ldc: v)
            }
            for i in 0 ..< k * v * v { pde[i] *= pa[i] }
            rowSums(pdz, rows: k * cout, cols: cols, into: pdb, threads: threads)
            // dW(K·Cout, Cin) = dz · xᵀ
            sgemmLongK(transA: false, transB: true, m: k * cout, n: cin, k: cols, alpha: 1,
                       a: pdz, lda: cols, b: px, ldb: cols, beta: 0, c: pdw, ldc: cin)
            if let pdx {
                // dx(Cin, P) = Wᵀ · dz
                sgemmParallel(transA: true, transB: false, m: cin, n: cols, k: k * cout, alpha: 1,
                              a: pw, lda: cin, b: pdz, ldb: cols, beta: accumulate ? 1 : 0, c: pdx, ldc: cols)
            }
        }
    }
}
