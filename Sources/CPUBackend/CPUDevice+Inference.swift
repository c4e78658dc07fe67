import CPUKernels
import Compute

/// Forward-only variants for evaluation and the key encoder: nothing is kept for a backward, so
/// the graph convolution works in cache-sized pieces of positions (the K·C intermediate never
/// goes through memory), and an inference-mode batch norm, the residual sum and the ReLU are
/// applied while the output is still in cache (or, in the direct temporal kernel, in registers).
extension CPUDevice {
    public func batchNormInferenceAffine(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                         epsilon: Float, scale: Tensor, shift: Tensor) {
        guard errors.check({
            try OpContract.batchNormInferenceAffine(gamma: gamma, beta: beta, runningMean: runningMean,
                                                    runningVar: runningVar, scale: scale, shift: shift)
        }) != nil else { return }
        let c = gamma.count
        let pg = gamma.cpuPointer, pb = beta.cpuPointer, pm = runningMean.cpuPointer, pv = runningVar.cpuPointer
        let ps = scale.cpuPointer, pt = shift.cpuPointer
        for ch in 0 ..< c {
            // The same float operations as batchNormForward's eval path.
            let invStd = 1 / (pv[ch] + epsilon).squareRoot()
            ps[ch] = pg[ch] * invStd
            pt[ch] = pb[ch] - pm[ch] * ps[ch]
        }
    }

    public func applyEpilogue(_ epilogue: ChannelEpilogue, x: Tensor, channels: Int, y: Tensor) {
        guard let cost = errors.check({ try OpContract.applyEpilogue(epilogue, x: x, channels: channels, y: y) })
        else { return }
        let p = x.count / channels
        let px = x.cpuPointer, py = y.cpuPointer
        measure("applyEpilogue", cost) {
            parallelFor(channels * p, threads: threads, minimumPerChunk: elementwiseChunk) { range in
                epilogueRows(epilogue, channelLength: p, range: range, from: px, into: py)
            }
        }
    }

    /// Applies `epilogue` to the elements `range` of a (C, channelLength) tensor.
    func epilogueRows(_ e: ChannelEpilogue, channelLength p: Int, range: Range<Int>,
                      from v: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let ps = e.scale.cpuPointer, pt = e.shift.cpuPointer
        let pr = e.residual?.cpuPointer, prs = e.residualScale?.cpuPointer
        var i = range.lowerBound
        while i < range.upperBound {
            let c = i / p
            let end = min(range.upperBound, (c + 1) * p)
            aimclr_epilogue_row(v + i, end - i, ps[c], pt[c], pr.map { UnsafePointer($0 + i) }, prs?[c] ?? 1,
                                e.relu ? 1 : 0, y + i)
            i = end
        }
    }

    /// Runs `body` with the C form of `epilogue` (nil stays nil).
    func withCEpilogue<R>(_ epilogue: ChannelEpilogue?, _ body: (UnsafePointer<AimclrEpilogue>?) -> R) -> R {
        guard let e = epilogue else { return body(nil) }
        var c = AimclrEpilogue(scale: e.scale.cpuPointer, shift: e.shift.cpuPointer,
                               residual: e.residual?.cpuPointer, residualScale: e.residualScale?.cpuPointer,
                               relu: e.relu ? 1 : 0)
        return withUnsafePointer(to: &c) { body($0) }
    }

    public func temporalConvInference(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                      weight: Tensor, bias: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.temporalConvInference(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                                 bias: bias, epilogue: epilogue, y: y)
        }) else { return }
        let (cout, tOut, _) = temporalGeometry(input: input, kernel: kernel, stride: stride, weight: weight)
        measure("temporalConvInference", cost) {
            temporalConvWithoutColumns(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                                       epilogue: epilogue, y: y, cout: cout, tOut: tOut)
        }
    }
}

extension CPUDevice {
    public func graphConvInference(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                   adjacency: Tensor, importance: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.graphConvInference(x: x, input: input, weight: weight, bias: bias, adjacency: adjacency,
                                              importance: importance, epilogue: epilogue, y: y)
        }) else { return }
        let k = adjacency.dim(0), v = input.joints, cin = input.channels, cols = input.plane
        let kc = weight.dim(0), cout = kc / k
        let mixFirst = cin < cout
        let pieces = graphPieces(intermediateChannels: k * (mixFirst ? cin : cout), cols: cols, v: v)
        let workers = pieces.workers, pieceFloats = pieces.floats
        let scratch = graphPieceScratch.floats(workers * pieceFloats)
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure("graphConvInference", cost) {
            let ahat = UnsafePointer(effectiveAdjacency(adjacency, importance))
            // Mixing first: W'[c, k·Cin + i] = W[k·Cout + c, i] and the bias carried through Â,
            // B[c, w] = Σ_k b[k·Cout + c]·colsum_k[w], as in graphConvForward.
            let pattern = mixFirst ? mixedBias(pb, ahat: ahat, k: k, cout: cout, v: v) : []
            let wk = mixFirst ? UnsafePointer(rearrangedWeight(pw, cin: cin, cout: cout, k: k)) : UnsafePointer(pw)
            pattern.withUnsafeBufferPointer { pat in
                withSingleThreadedBLAS {
                    parallelChunks(pieces.count, threads: workers) { worker, items in
                        let part = scratch + worker * pieceFloats
                        for piece in items {
                            let (r0, rows) = pieces.rows(piece)
                            let q0 = r0 * v, width = rows * v
                            if mixFirst {
                                // XA_k(Cin, piece) = X · Â_k, then y = W'·XA + B.
                                for p in 0 ..< k {
                                    for i in 0 ..< cin {
                                        mixRows(px + i * cols + q0, aStride: 0, parts: 1, rows: rows, v: v,
                                                ahat: ahat + p * v * v, into: part + (p * cin + i) * width)
                                    }
                                }
                                for c in 0 ..< cout {
                                    let row = py + c * cols + q0
                                    for r in 0 ..< rows { (row + r * v).update(from: pat.baseAddress! + c * v, count: v) }
                                }
                                sgemm(transA: false, transB: false, m: cout, n: width, k: k * cin, alpha: 1,
                                      a: wk, lda: k * cin, b: part, ldb: width, beta: 1, c: py + q0, ldc: cols)
                            } else {
                                // z(K·Cout, piece) = W·x + b, then y_c = Σ_k z_k,c · Â_k.
                                for r in 0 ..< k * cout { (part + r * width).update(repeating: pb[r], count: width) }
                                sgemm(transA: false, transB: false, m: k * cout, n: width, k: cin, alpha: 1,
                                      a: pw, lda: cin, b: px + q0, ldb: cols, beta: 1, c: part, ldc: width)
                                for c in 0 ..< cout {
                                    mixRows(part + c * width, aStride: cout * width, parts: k, rows: rows, v: v,
                                            ahat: ahat, into: py + c * cols + q0)
                                }
                            }
                            if let epilogue {
                                for c in 0 ..< cout {
                                    let at = c * cols + q0
                                    epilogueRows(epilogue, channelLength: cols, range: at ..< at + width,
                                                 from: py, into: py)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// y(rows, V) = Σ_p a_p(rows, V) · Â_p with a_p = a + p·aStride, on the calling thread.
    private func mixRows(_ a: UnsafePointer<Float>, aStride: Int, parts: Int, rows: Int, v: Int,
                         ahat: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if graphKernels.applies(joints: v) {
            aimclr_graph_mix(a, aStride, Int32(parts), ahat, Int32(v), 0, y, 0, rows)
            return
        }
        for p in 0 ..< parts {
            sgemm(transA: false, transB: false, m: rows, n: v, k: v, alpha: 1, a: a + p * aStride, lda: v,
                  b: ahat + p * v * v, ldb: v, beta: p == 0 ? 0 : 1, c: y, ldc: v)
        }
    }
}
