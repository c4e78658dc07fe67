import CPUKernels
import Compute

/// ST-GCN spatial graph convolution: a 1x1 convolution to K·Cout channels (one GEMM),
/// then per partition k a right-multiplication of the (Cout·N·T, V) view of z_k by
/// Â_k = A_k ⊙ E_k (K GEMMs accumulating into y).
///
/// Both steps are linear, so a layer that widens (Cin < Cout: blocks 1, 5, 8 and 10) mixes
/// first: XA_k = X·Â_k on the Cin input channels, then one GEMM y = W'·[XA_0; …; XA_K−1] with
/// W'[c, k·Cin + i] = W[k·Cout + c, i], plus the bias carried through Â. Same result, fewer
/// flops (block 10 mixes 3·64 instead of 3·256 channels) and a smaller saved tensor: `z` then
/// holds XA (K·Cin·P of its K·Cout·P elements) followed by the K·Cout biases, which the
/// backward needs for ∂L/∂Â.
extension CPUDevice {
    /// Â = A ⊙ E into the device's adjacency scratch (K·V·V floats).
    func effectiveAdjacency(_ a: Tensor, _ e: Tensor) -> UnsafeMutablePointer<Float> {
        let n = a.count
        let h = adjacencyScratch.floats(n)
        let pa = a.cpuPointer, pe = e.cpuPointer
        for i in 0 ..< n { h[i] = pa[i] * pe[i] }
        return h
    }

    public func graphConvForward(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                 adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.graphConvForward(x: x, input: input, weight: weight, bias: bias, adjacency: adjacency,
                                            importance: importance, z: z, y: y)
        }) else { return }
        // Every path's own measure nests inside this one, which charges the contract's cost.
        measure("graphConvForward", cost) {
            graphConvForwardPaths(x: x, input: input, weight: weight, bias: bias, adjacency: adjacency,
                                  importance: importance, z: z, y: y)
        }
    }

    private func graphConvForwardPaths(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                       adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor) {
        let k = adjacency.dim(0), cout = weight.dim(0) / k, cols = input.plane
        let cin = input.channels, v = input.joints
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer
        let pz = z.cpuPointer, py = y.cpuPointer
        if mixesFirst(cin: cin, cout: cout, k: k, cols: cols, room: z.count) {
            graphConvForwardMixingFirst(x: px, cin: cin, cout: cout, k: k, v: v, cols: cols, weight: pw, bias: pb,
                                        adjacency: adjacency, importance: importance, xa: pz, y: py)
            return
        }
        let flops = 2 * Double(k * cout) * Double(cin * cols) + 2 * Double(k * cout * cols * v)
        measure("graphConvForward", flops: flops) {
            let ahat = effectiveAdjacency(adjacency, importance)
            broadcastRows(pb, into: pz, rows: k * cout, cols: cols, threads: threads)
            sgemmParallel(transA: false, transB: false, m: k * cout, n: cols, k: cin, alpha: 1,
                          a: pw, lda: cin, b: px, ldb: cols, beta: 1, c: pz, ldc: cols)
            mix(pz, aStride: cout * cols, rows: cout * cols / v, k: k, v: v, ahat: ahat, transposed: false,
                accumulate: false, into: py)
        }
    }

    public func graphConvBackward(x: Tensor, input: ActivationShape, weight: Tensor,
                                  adjacency: Tensor, importance: Tensor, z: Tensor, dy: Tensor,
                                  dz: Tensor, dx: Tensor?, accumulate: Bool,
                                  dWeight: Tensor, dBias: Tensor, dImportance: Tensor) {
        guard let cost = errors.check({
            try OpContract.graphConvBackward(x: x, input: input, weight: weight, adjacency: adjacency,
                                             importance: importance, z: z, dy: dy, dz: dz, dx: dx, dWeight: dWeight,
                                             dBias: dBias, dImportance: dImportance)
        }) else { return }
        measure("graphConvBackward", cost) {
            graphConvBackwardPaths(x: x, input: input, weight: weight, adjacency: adjacency, importance: importance,
                                   z: z, dy: dy, dz: dz, dx: dx, accumulate: accumulate, dWeight: dWeight,
                                   dBias: dBias, dImportance: dImportance)
        }
    }

    private func graphConvBackwardPaths(x: Tensor, input: ActivationShape, weight: Tensor,
                                        adjacency: Tensor, importance: Tensor, z: Tensor, dy: Tensor,
                                        dz: Tensor, dx: Tensor?, accumulate: Bool,
                                        dWeight: Tensor, dBias: Tensor, dImportance: Tensor) {
        let k = adjacency.dim(0), cout = weight.dim(0) / k, cols = input.plane
        let cin = input.channels, v = input.joints
        let px = x.cpuPointer, pw = weight.cpuPointer, pz = z.cpuPointer, pdy = dy.cpuPointer
        let pdz = dz.cpuPointer, pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pde = dImportance.cpuPointer, pa = adjacency.cpuPointer
        let pdx = dx?.cpuPointer
        if mixesFirst(cin: cin, cout: cout, k: k, cols: cols, room: z.count) {
            graphConvBackwardMixingFirst(x: px, cin: cin, cout: cout, k: k, v: v, cols: cols, weight: pw,
                                         adjacency: adjacency, importance: importance, xa: pz, dy: pdy,
                                         dxa: pdz, dx: pdx, accumulate: accumulate, dWeight: pdw, dBias: pdb,
                                         dImportance: pde)
            return
        }
        let flops = 4 * Double(k * cout * cols * v) + 2 * Double(k * cout) * Double(cin * cols) * (dx == nil ? 1 : 2)
        if graphKernels.applies(joints: v) {
            measure("graphConvBackward", flops: flops) {
                graphConvBackwardInPieces(x: px, cin: cin, cout: cout, k: k, v: v, cols: cols, weight: pw,
                                          adjacency: adjacency, importance: importance, z: pz, dy: pdy, dx: pdx,
                                          accumulate: accumulate, dWeight: pdw, dBias: pdb, dImportance: pde)
            }
            return
        }
        measure("graphConvBackward", flops: flops) {
            let ahat = effectiveAdjacency(adjacency, importance)
            let rows = cout * cols / v
            // dz_k(Cout·N·T, V) = dy · Â_kᵀ.
            spread(pdy, rows: rows, k: k, v: v, ahat: ahat, transposed: true, into: pdz, yStride: cout * cols)
            // ∂L/∂Â_k(V, V) = z_kᵀ · dy
            adjacencyGradient(pz, aStride: cout * cols, pdy, gStride: 0, parts: k, rows: rows, v: v, into: pde)
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

extension CPUDevice {
    /// Whether a layer mixes before its 1×1 convolution: it widens, and `z` has room for XA
    /// and the biases.
    func mixesFirst(cin: Int, cout: Int, k: Int, cols: Int, room: Int) -> Bool {
        cin < cout && k * cin * cols + k * cout <= room
    }

    /// W'(Cout, K·Cin) with W'[c, k·Cin + i] = W[k·Cout + c, i], in the reduction scratch (valid
    /// until the next long-k GEMM, which reuses that scratch).
    func rearrangedWeight(_ pw: UnsafePointer<Float>, cin: Int, cout: Int, k: Int) -> UnsafeMutablePointer<Float> {
        let wk = reductionScratch.floats(cout * k * cin)
        for c in 0 ..< cout {
            for p in 0 ..< k { (wk + (c * k + p) * cin).update(from: pw + (p * cout + c) * cin, count: cin) }
        }
        return wk
    }

    /// B[c, w] = Σ_k b[k·Cout + c]·colsum_k[w] (Cout, V): what the 1×1 conv's bias contributes
    /// at joint w once mixed, for a layer that mixes first.
    func mixedBias(_ pb: UnsafePointer<Float>, ahat: UnsafePointer<Float>, k: Int, cout: Int, v: Int) -> [Float] {
        let colsum = adjacencyColumnSums(ahat, k: k, v: v)
        var pattern = [Float](repeating: 0, count: cout * v)
        for c in 0 ..< cout {
            for w in 0 ..< v {
                var sum: Float = 0
                for p in 0 ..< k { sum += pb[p * cout + c] * colsum[p * v + w] }
                pattern[c * v + w] = sum
            }
        }
        return pattern
    }

    /// colsum[k, w] = Σ_v Â_k[v, w]: what a bias added before the mixing contributes at joint w.
    private func adjacencyColumnSums(_ ahat: UnsafePointer<Float>, k: Int, v: Int) -> [Float] {
        var sums = [Float](repeating: 0, count: k * v)
        for p in 0 ..< k { for i in 0 ..< v { for j in 0 ..< v { sums[p * v + j] += ahat[(p * v + i) * v + j] } } }
        return sums
    }

    /// Y_k(rows, V) = A(rows, V) · op(Â_k) for every partition k, the outputs `yStride` apart;
    /// each worker takes its own rows for every partition while they are in its cache.
    private func spread(_ a: UnsafePointer<Float>, rows: Int, k: Int, v: Int, ahat: UnsafePointer<Float>,
                        transposed: Bool, into y: UnsafeMutablePointer<Float>, yStride: Int) {
        if graphKernels.applies(joints: v) {
            let m = transposed ? transposedAdjacency(ahat, k: k, v: v) : ahat
            parallelFor(rows, threads: threads, minimumPerChunk: 1024) { range in
                // Chunks of rows: each input row is read from memory once for all K outputs.
                for r0 in Swift.stride(from: range.lowerBound, to: range.upperBound, by: 256) {
                    let r1 = min(r0 + 256, range.upperBound)
                    for p in 0 ..< k { aimclr_graph_mix(a, 0, 1, m + p * v * v, Int32(v), 0, y + p * yStride, r0, r1) }
                }
            }
            return
        }
        withSingleThreadedBLAS {
            parallelFor(rows, threads: threads, minimumPerChunk: 1024) { range in
                let r0 = range.lowerBound
                for p in 0 ..< k {
                    sgemm(transA: false, transB: transposed, m: range.count, n: v, k: v, alpha: 1,
                          a: a + r0 * v, lda: v, b: ahat + p * v * v, ldb: v,
                          beta: 0, c: y + p * yStride + r0 * v, ldc: v)
                }
            }
        }
    }

    /// Y(rows, V) (+)= Σ_k A_k(rows, V) · op(Â_k), rows split between the workers. `a` holds
    /// the K inputs `aStride` apart; `transposed` uses Â_kᵀ.
    private func mix(_ a: UnsafePointer<Float>, aStride: Int, rows: Int, k: Int, v: Int,
                     ahat: UnsafePointer<Float>, transposed: Bool, accumulate: Bool, into y: UnsafeMutablePointer<Float>) {
        if graphKernels.applies(joints: v) {
            let m = transposed ? transposedAdjacency(ahat, k: k, v: v) : ahat
            parallelFor(rows, threads: threads, minimumPerChunk: 1024) { range in
                aimclr_graph_mix(a, aStride, Int32(k), m, Int32(v), accumulate ? 1 : 0, y,
                                 range.lowerBound, range.upperBound)
            }
            return
        }
        withSingleThreadedBLAS {
            parallelFor(rows, threads: threads, minimumPerChunk: 1024) { range in
                let r0 = range.lowerBound
                for p in 0 ..< k {
                    sgemm(transA: false, transB: transposed, m: range.count, n: v, k: v, alpha: 1,
                          a: a + p * aStride + r0 * v, lda: v, b: ahat + p * v * v, ldb: v,
                          beta: p == 0 && !accumulate ? 0 : 1, c: y + r0 * v, ldc: v)
                }
            }
        }
    }

    /// Â_kᵀ for every partition, in the transposed-adjacency scratch.
    private func transposedAdjacency(_ ahat: UnsafePointer<Float>, k: Int, v: Int) -> UnsafePointer<Float> {
        let t = adjacencyTransposeScratch.floats(k * v * v)
        for p in 0 ..< k { for i in 0 ..< v { for j in 0 ..< v { t[(p * v + j) * v + i] = ahat[(p * v + i) * v + j] } } }
        return UnsafePointer(t)
    }

    /// out_p(V, V) = A_pᵀ · G_p for p < parts, A_p = a + p·aStride and G_p = g + p·gStride (rows, V)
    /// (stride 0: shared), out_p = out + p·V·V: per-worker partial sums over rows, added in
    /// worker order (deterministic for a thread count).
    private func adjacencyGradient(_ a: UnsafePointer<Float>, aStride: Int, _ g: UnsafePointer<Float>, gStride: Int,
                                   parts k: Int, rows: Int, v: Int, into out: UnsafeMutablePointer<Float>) {
        guard graphKernels.applies(joints: v) else {
            for p in 0 ..< k {
                sgemmLongK(transA: true, transB: false, m: v, n: v, k: rows, alpha: 1, a: a + p * aStride, lda: v,
                           b: g + p * gStride, ldb: v, beta: 0, c: out + p * v * v, ldc: v)
            }
            return
        }
        let size = k * v * v
        let workers = max(1, min(threads, rows / graphKernels.minimumRowsPerWorker))
        let partial = adjacencyGradientScratch.floats(workers * size)
        partial.update(repeating: 0, count: workers * size)
        parallelChunks(workers, threads: workers) { worker, _ in
            aimclr_graph_mix_grad(a, aStride, g, gStride, Int32(k), Int32(v), rows * worker / workers,
                                  rows * (worker + 1) / workers, partial + worker * size)
        }
        sumPartials(partial, stride: size, parts: workers, count: size, into: out)
    }

    func graphConvForwardMixingFirst(x px: UnsafePointer<Float>, cin: Int, cout: Int, k: Int, v: Int, cols: Int,
                                     weight pw: UnsafePointer<Float>, bias pb: UnsafePointer<Float>,
                                     adjacency: Tensor, importance: Tensor,
                                     xa pxa: UnsafeMutablePointer<Float>, y py: UnsafeMutablePointer<Float>) {
        let flops = 2 * Double(k * cin * cols * v) + 2 * Double(cout) * Double(k * cin) * Double(cols)
        measure("graphConvForward", flops: flops) {
            let ahat = effectiveAdjacency(adjacency, importance)
            let rowsIn = cin * cols / v
            // XA_k(Cin·N·T, V) = X · Â_k, each into its own K·Cin block of the saved tensor.
            spread(px, rows: rowsIn, k: k, v: v, ahat: ahat, transposed: false, into: pxa, yStride: cin * cols)
            (pxa + k * cin * cols).update(from: pb, count: k * cout)
            // The bias through the mixing, tiled over N·T.
            let pattern = mixedBias(pb, ahat: ahat, k: k, cout: cout, v: v)
            let planes = cols / v
            pattern.withUnsafeBufferPointer { pat in
                parallelFor(cout, threads: threads) { range in
                    for c in range {
                        let row = py + c * cols
                        for plane in 0 ..< planes { (row + plane * v).update(from: pat.baseAddress! + c * v, count: v) }
                    }
                }
            }
            // y(Cout, P) += W' · XA with W'[c, k·Cin + i] = W[k·Cout + c, i].
            let wk = rearrangedWeight(pw, cin: cin, cout: cout, k: k)
            sgemmParallel(transA: false, transB: false, m: cout, n: cols, k: k * cin, alpha: 1,
                          a: wk, lda: k * cin, b: pxa, ldb: cols, beta: 1, c: py, ldc: cols)
        }
    }

    func graphConvBackwardMixingFirst(x px: UnsafePointer<Float>, cin: Int, cout: Int, k: Int, v: Int, cols: Int,
                                      weight pw: UnsafePointer<Float>, adjacency: Tensor, importance: Tensor,
                                      xa pxa: UnsafePointer<Float>, dy pdy: UnsafePointer<Float>,
                                      dxa pdxa: UnsafeMutablePointer<Float>, dx pdx: UnsafeMutablePointer<Float>?,
                                      accumulate: Bool, dWeight pdw: UnsafeMutablePointer<Float>,
                                      dBias pdb: UnsafeMutablePointer<Float>, dImportance pde: UnsafeMutablePointer<Float>) {
        let rowsIn = cin * cols / v, planes = cols / v
        let flops = 2 * Double(k * cin * cols * v) * (pdx == nil ? 1 : 2) + 4 * Double(cout) * Double(k * cin) * Double(cols)
        measure("graphConvBackward", flops: flops) {
            let ahat = effectiveAdjacency(adjacency, importance)
            let pa = adjacency.cpuPointer
            let bias = pxa + k * cin * cols
            // W' as in the forward; dXA = W'ᵀ · dy and dW' = dy · XAᵀ.
            let wk = rearrangedWeight(pw, cin: cin, cout: cout, k: k)
            sgemmParallel(transA: true, transB: false, m: k * cin, n: cols, k: cout, alpha: 1,
                          a: wk, lda: k * cin, b: pdy, ldb: cols, beta: 0, c: pdxa, ldc: cols)
            var dwk = [Float](repeating: 0, count: cout * k * cin)
            dwk.withUnsafeMutableBufferPointer { d in
                sgemmLongK(transA: false, transB: true, m: cout, n: k * cin, k: cols, alpha: 1,
                           a: pdy, lda: cols, b: pxa, ldb: cols, beta: 0, c: d.baseAddress!, ldc: k * cin)
                for c in 0 ..< cout { for p in 0 ..< k { (pdw + (p * cout + c) * cin).update(from: d.baseAddress! + (c * k + p) * cin, count: cin) } }
            }
            // S[c, w] = Σ_{n,t} dy[c, n, t, w]; db[k·Cout + c] = Σ_w S[c, w]·colsum_k[w].
            var sums = [Float](repeating: 0, count: cout * v)
            sums.withUnsafeMutableBufferPointer { sp in
                let s = sp.baseAddress!
                parallelFor(cout, threads: threads) { range in
                    var acc = [Double](repeating: 0, count: v)
                    for c in range {
                        for w in 0 ..< v { acc[w] = 0 }
                        let row = pdy + c * cols
                        for plane in 0 ..< planes { for w in 0 ..< v { acc[w] += Double(row[plane * v + w]) } }
                        for w in 0 ..< v { s[c * v + w] = Float(acc[w]) }
                    }
                }
            }
            let colsum = adjacencyColumnSums(ahat, k: k, v: v)
            for p in 0 ..< k {
                for c in 0 ..< cout {
                    var sum: Float = 0
                    for w in 0 ..< v { sum += sums[c * v + w] * colsum[p * v + w] }
                    pdb[p * cout + c] = sum
                }
            }
            // ∂L/∂Â_k = Xᵀ · dXA_k + 1·(Σ_c b[k·Cout + c]·S[c, :]) (the bias term is the same for every row v).
            adjacencyGradient(px, aStride: 0, pdxa, gStride: cin * cols, parts: k, rows: rowsIn, v: v, into: pde)
            for p in 0 ..< k {
                for w in 0 ..< v {
                    var term: Float = 0
                    for c in 0 ..< cout { term += bias[p * cout + c] * sums[c * v + w] }
                    for i in 0 ..< v { pde[(p * v + i) * v + w] += term }
                }
            }
            for i in 0 ..< k * v * v { pde[i] *= pa[i] }
            // dx(Cin·N·T, V) = Σ_k dXA_k · Â_kᵀ.
            if let pdx {
                mix(pdxa, aStride: cin * cols, rows: rowsIn, k: k, v: v, ahat: ahat, transposed: true,
                    accumulate: accumulate, into: pdx)
            }
        }
    }

    /// The backward of a layer that does not widen, piece by piece of positions: dz for a piece
    /// (dy · Â_kᵀ) is built in cache and used there for the bias, weight and input gradients, so
    /// the K·Cout·P tensor never goes through memory; ∂L/∂Â reads the saved z once. Bias, weight
    /// and ∂L/∂Â gradients are per-worker partial sums, added in worker order.
    private func graphConvBackwardInPieces(x px: UnsafePointer<Float>, cin: Int, cout: Int, k: Int, v: Int, cols: Int,
                                           weight pw: UnsafePointer<Float>, adjacency: Tensor, importance: Tensor,
                                           z pz: UnsafePointer<Float>, dy pdy: UnsafePointer<Float>,
                                           dx pdx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                                           dWeight pdw: UnsafeMutablePointer<Float>,
                                           dBias pdb: UnsafeMutablePointer<Float>,
                                           dImportance pde: UnsafeMutablePointer<Float>) {
        let ahat = effectiveAdjacency(adjacency, importance)
        let ahatT = transposedAdjacency(ahat, k: k, v: v)
        let kc = k * cout
        let pieces = graphPieces(intermediateChannels: kc, cols: cols, v: v)
        let workers = pieces.workers, pieceFloats = pieces.floats
        // Per worker: the piece's dz, then its partial dW (K·Cout, Cin), db (K·Cout), ∂L/∂Â (K, V, V).
        let wSize = kc * cin, partSize = wSize + kc + k * v * v, stride = pieceFloats + partSize
        let scratch = graphPieceScratch.floats(workers * stride + partSize)
        withSingleThreadedBLAS {
            parallelChunks(pieces.count, threads: workers) { worker, items in
                let dz = scratch + worker * stride
                let part = dz + pieceFloats
                part.update(repeating: 0, count: partSize)
                for piece in items {
                    let (r0, rows) = pieces.rows(piece)
                    let q0 = r0 * v, width = rows * v
                    for c in 0 ..< cout {
                        for p in 0 ..< k {
                            aimclr_graph_mix(pdy + c * cols + q0, 0, 1, ahatT + p * v * v, Int32(v), 0,
                                             dz + (p * cout + c) * width, 0, rows)
                        }
                        // ∂L/∂Â_k += z_k,cᵀ · dy_c over the piece's rows.
                        aimclr_graph_mix_grad(pz + c * cols, cout * cols, pdy + c * cols, 0, Int32(k), Int32(v),
                                              r0, r0 + rows, part + wSize + kc)
                    }
                    for r in 0 ..< kc { part[wSize + r] += Float(aimclr_sum(dz + r * width, width)) }
                    sgemm(transA: false, transB: true, m: kc, n: cin, k: width, alpha: 1, a: dz, lda: width,
                          b: px + q0, ldb: cols, beta: 1, c: part, ldc: cin)
                    if let pdx {
                        sgemm(transA: true, transB: false, m: cin, n: width, k: kc, alpha: 1, a: pw, lda: cin,
                              b: dz, ldb: width, beta: accumulate ? 1 : 0, c: pdx + q0, ldc: cols)
                    }
                }
            }
        }
        let total = scratch + workers * stride
        sumPartials(scratch + pieceFloats, stride: stride, parts: workers, count: partSize, into: total)
        pdw.update(from: total, count: wSize)
        pdb.update(from: total + wSize, count: kc)
        let pa = adjacency.cpuPointer
        for i in 0 ..< k * v * v { pde[i] = total[wSize + kc + i] * pa[i] }
    }
}

/// How the piecewise graph convolution cuts the positions into pieces of whole joint rows whose
/// intermediate (`intermediateChannels` rows) takes about `graphPieceFloats`.
struct GraphPieces {
    let rowsPerPiece: Int, planes: Int, count: Int, workers: Int
    /// Floats of one piece's intermediate.
    let floats: Int

    /// The piece's first joint row and its row count (the last piece may be shorter).
    func rows(_ piece: Int) -> (first: Int, count: Int) {
        let first = piece * rowsPerPiece
        return (first, min(rowsPerPiece, planes - first))
    }
}

extension CPUDevice {
    func graphPieces(intermediateChannels channels: Int, cols: Int, v: Int) -> GraphPieces {
        let rowsPerPiece = max(1, graphPieceFloats / (channels * v))
        let planes = cols / v, count = (planes + rowsPerPiece - 1) / rowsPerPiece
        return GraphPieces(rowsPerPiece: rowsPerPiece, planes: planes, count: count, workers: min(threads, count),
                           floats: channels * rowsPerPiece * v)
    }
}
