import Compute

/// Temporal convolution (kernel kt×1, zero padding (kt−1)/2, stride s) as im2col + GEMM.
///
/// `columns` is (Cin·kt, N·Tout·V) with row ci·kt + k, which is exactly the memory order
/// of PyTorch's weight (Cout, Cin, kt, 1) viewed as (Cout, Cin·kt).
///
/// Narrow layers work in blocks of whole samples (see `TemporalBlocking`): the forward builds
/// the columns of a block and multiplies them while they are still in cache; the backward
/// multiplies Wᵀ·dy for a block into a small cached scratch and folds it straight back onto
/// dx, so the full-size column gradient never goes through memory.
extension CPUDevice {
    /// (Cout, output frames, output positions) of a call that kept its contract.
    func temporalGeometry(input: ActivationShape, kernel: Int, stride: Int, weight: Tensor)
        -> (cout: Int, tOut: Int, cols: Int) {
        let tOut = OpContract.outputFrames(input.frames, stride: stride)
        return (weight.dim(0), tOut, input.batch * tOut * input.joints)
    }

    public func temporalConvForward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                    weight: Tensor, bias: Tensor, columns: Tensor?, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.temporalConvForward(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                               bias: bias, columns: columns, y: y)
        }) else { return }
        // Every path's own measure nests inside this one, which charges the contract's cost.
        measure("temporalConvForward", cost) {
            temporalConvForwardPaths(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                                     columns: columns, y: y)
        }
    }

    private func temporalConvForwardPaths(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                          weight: Tensor, bias: Tensor, columns: Tensor?, y: Tensor) {
        let (cout, tOut, cols) = temporalGeometry(input: input, kernel: kernel, stride: stride, weight: weight)
        let cin = input.channels, rowsK = cin * kernel
        guard let columns else {
            temporalConvWithoutColumns(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                                       epilogue: nil, y: y, cout: cout, tOut: tOut)
            return
        }
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer
        let pc = columns.cpuPointer, py = y.cpuPointer
        let sampleColumns = tOut * input.joints
        let block = temporalBlocking.samplesPerBlock(outputChannels: cout, rows: rowsK, sampleColumns: sampleColumns,
                                                     batch: input.batch)
        let blocks = (input.batch + block - 1) / block
        measure("temporalConvForward", flops: 2 * Double(cout * rowsK) * Double(cols)) {
            if blocks > 1 && threads > 1 {
                // Each worker owns whole blocks: bias, im2col and GEMM of a block run on one
                // core while the block is in its cache, with no hand-off between the steps.
                withSingleThreadedBLAS {
                    parallelChunks(blocks, threads: threads) { _, items in
                        for blockIndex in items {
                            let first = blockIndex * block
                            let samples = first ..< min(first + block, input.batch)
                            let offset = first * sampleColumns, width = samples.count * sampleColumns
                            for co in 0 ..< cout {
                                (py + co * cols + offset).update(repeating: pb[co], count: width)
                            }
                            im2colRows(px, input, kernel: kernel, stride: stride, tOut: tOut, rows: 0 ..< rowsK,
                                       samples: samples, into: pc + offset, ld: cols)
                            sgemm(transA: false, transB: false, m: cout, n: width, k: rowsK, alpha: 1,
                                  a: pw, lda: rowsK, b: pc + offset, ldb: cols, beta: 1, c: py + offset, ldc: cols)
                        }
                    }
                }
                return
            }
            broadcastRows(pb, into: py, rows: cout, cols: cols, threads: threads)
            for first in Swift.stride(from: 0, to: input.batch, by: block) {
                let samples = first ..< min(first + block, input.batch)
                let offset = first * sampleColumns
                im2col(px, input, kernel: kernel, stride: stride, tOut: tOut, samples: samples,
                       into: pc + offset, ld: cols)
                sgemmParallel(transA: false, transB: false, m: cout, n: samples.count * sampleColumns, k: rowsK, alpha: 1,
                              a: pw, lda: rowsK, b: pc + offset, ldb: cols, beta: 1, c: py + offset, ldc: cols)
            }
        }
    }

    /// The forward without caller-owned columns: the direct kernel, shifted GEMMs or streamed
    /// im2col, whichever applies, then `epilogue` (in registers or per cache window where the path
    /// allows, else one pass over y).
    func temporalConvWithoutColumns(x: Tensor, input: ActivationShape, kernel: Int, stride: Int, weight: Tensor,
                                    bias: Tensor, epilogue: ChannelEpilogue?, y: Tensor, cout: Int, tOut: Int) {
        if directTemporalConvolution.applies(stride: stride, kernel: kernel, input: input, outputChannels: cout) {
            temporalConvForwardDirect(x: x, input: input, kernel: kernel, weight: weight, bias: bias,
                                      epilogue: epilogue, y: y, cout: cout)
            return
        }
        if usesSpectralTemporalConv(stride: stride, kernel: kernel, input: input, outputChannels: cout) {
            temporalConvForwardSpectral(x: x, input: input, kernel: kernel, weight: weight, bias: bias,
                                        epilogue: epilogue, y: y, cout: cout)
            return
        }
        if usesShiftedGEMMs(stride: stride, input: input, outputChannels: cout) {
            temporalConvForwardShifted(x: x, input: input, kernel: kernel, weight: weight, bias: bias,
                                       epilogue: epilogue, y: y, cout: cout)
            return
        }
        temporalConvForwardStreaming(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                                     y: y, cout: cout, tOut: tOut)
        if let epilogue { applyEpilogue(epilogue, x: y, channels: cout, y: y) }
    }

    public func temporalConvBackward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                     weight: Tensor, columns: Tensor?, dy: Tensor,
                                     dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor) {
        guard let cost = errors.check({
            try OpContract.temporalConvBackward(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                                columns: columns, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias)
        }) else { return }
        measure("temporalConvBackward", cost) {
            temporalConvBackwardPaths(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                      columns: columns, dy: dy, dx: dx, accumulate: accumulate, dWeight: dWeight,
                                      dBias: dBias)
        }
    }

    private func temporalConvBackwardPaths(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                           weight: Tensor, columns: Tensor?, dy: Tensor,
                                           dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor) {
        let (cout, tOut, cols) = temporalGeometry(input: input, kernel: kernel, stride: stride, weight: weight)
        let cin = input.channels
        let rowsK = cin * kernel
        guard let columns else {
            if directTemporalConvolution.applies(stride: stride, kernel: kernel, input: input, outputChannels: cout) {
                temporalConvBackwardDirect(x: x, input: input, kernel: kernel, weight: weight, dy: dy, dx: dx,
                                           accumulate: accumulate, dWeight: dWeight, dBias: dBias, cout: cout)
                return
            }
            if usesSpectralTemporalConv(stride: stride, kernel: kernel, input: input, outputChannels: cout) {
                temporalConvBackwardSpectral(x: x, input: input, kernel: kernel, weight: weight, dy: dy, dx: dx,
                                             accumulate: accumulate, dWeight: dWeight, dBias: dBias, cout: cout)
                return
            }
            if usesShiftedBackward(stride: stride, input: input, outputChannels: cout) {
                temporalConvBackwardShifted(x: x, input: input, kernel: kernel, weight: weight, dy: dy, dx: dx,
                                            accumulate: accumulate, dWeight: dWeight, dBias: dBias, cout: cout)
                return
            }
            temporalConvBackwardStreaming(x: x, input: input, kernel: kernel, stride: stride, weight: weight, dy: dy,
                                          dx: dx, accumulate: accumulate, dWeight: dWeight, dBias: dBias,
                                          cout: cout, tOut: tOut)
            return
        }
        let pw = weight.cpuPointer, pc = columns.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer
        let pdx = dx?.cpuPointer
        let sampleColumns = tOut * input.joints
        let block = temporalBlocking.samplesPerBlock(outputChannels: cout, rows: rowsK, sampleColumns: sampleColumns,
                                                     batch: input.batch)
        measure("temporalConvBackward", flops: 2 * Double(cout * rowsK) * Double(cols) * (dx == nil ? 1 : 2)) {
            rowSums(pdy, rows: cout, cols: cols, into: pdb, threads: threads)
            // dW(Cout, Cin·kt) = dy · columnsᵀ
            sgemmLongK(transA: false, transB: true, m: cout, n: rowsK, k: cols, alpha: 1,
                       a: pdy, lda: cols, b: pc, ldb: cols, beta: 0, c: pdw, ldc: rowsK)
            guard let pdx else { return }
            // Per block: dcolumns(Cin·kt, block) = Wᵀ · dy[:, block], folded back onto dx.
            let blockColumns = min(block, input.batch) * sampleColumns
            let blocks = (input.batch + block - 1) / block
            if blocks > 1 && threads > 1 {
                // Each worker owns whole blocks and its own slice of the scratch.
                let perWorker = rowsK * blockColumns
                let scratch = columnScratch.floats(min(threads, blocks) * perWorker)
                withSingleThreadedBLAS {
                    parallelChunks(blocks, threads: threads) { worker, items in
                        let dcol = scratch + worker * perWorker
                        for blockIndex in items {
                            let first = blockIndex * block
                            let samples = first ..< min(first + block, input.batch)
                            let width = samples.count * sampleColumns
                            sgemm(transA: true, transB: false, m: rowsK, n: width, k: cout, alpha: 1,
                                  a: pw, lda: rowsK, b: pdy + first * sampleColumns, ldb: cols, beta: 0,
                                  c: dcol, ldc: width)
                            col2imChannels(dcol, input, kernel: kernel, stride: stride, tOut: tOut,
                                           channels: 0 ..< cin, samples: samples, ld: width, into: pdx,
                                           accumulate: accumulate)
                        }
                    }
                }
                return
            }
            // Wide layers run the forward as one block; their column gradient is still folded
            // back in slices of samples, so the scratch stays near `temporalBlocking.wideScratchFloats`
            // instead of a full-size copy of the columns (768 MB for the widest reference layer).
            let slice = min(block, max(1, temporalBlocking.wideScratchFloats / max(rowsK * sampleColumns, 1)))
            let dcol = columnScratch.floats(rowsK * min(slice, input.batch) * sampleColumns)
            for first in Swift.stride(from: 0, to: input.batch, by: slice) {
                let samples = first ..< min(first + slice, input.batch)
                let width = samples.count * sampleColumns
                sgemmParallel(transA: true, transB: false, m: rowsK, n: width, k: cout, alpha: 1,
                              a: pw, lda: rowsK, b: pdy + first * sampleColumns, ldb: cols, beta: 0, c: dcol, ldc: width)
                col2im(dcol, input, kernel: kernel, stride: stride, tOut: tOut, samples: samples, ld: width,
                       into: pdx, accumulate: accumulate)
            }
        }
    }

    // MARK: Streaming (no stored columns)

    /// The forward without a caller-owned column buffer: each block (narrow layers) or slice of
    /// samples (wide layers) is built in scratch and multiplied at once. Nothing of the columns
    /// outlives the call; the backward rebuilds them (im2col is cheap next to the GEMMs).
    private func temporalConvForwardStreaming(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                              weight: Tensor, bias: Tensor, y: Tensor, cout: Int, tOut: Int) {
        let rowsK = input.channels * kernel, cols = input.batch * tOut * input.joints
        let px = x.cpuPointer, pw = weight.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        let sampleColumns = tOut * input.joints
        let plan = streamingPlan(cout: cout, rowsK: rowsK, sampleColumns: sampleColumns, batch: input.batch)
        measure("temporalConvForward", flops: 2 * Double(cout * rowsK) * Double(cols)) {
            broadcastRows(pb, into: py, rows: cout, cols: cols, threads: threads)
            if plan.perWorker {
                let perWorker = rowsK * plan.samples * sampleColumns
                let scratch = columnScratch.floats(min(threads, plan.blocks) * perWorker)
                withSingleThreadedBLAS {
                    parallelChunks(plan.blocks, threads: threads) { worker, items in
                        let pc = scratch + worker * perWorker
                        for blockIndex in items {
                            let samples = plan.range(blockIndex)
                            let width = samples.count * sampleColumns, offset = samples.lowerBound * sampleColumns
                            im2colRows(px, input, kernel: kernel, stride: stride, tOut: tOut, rows: 0 ..< rowsK,
                                       samples: samples, into: pc, ld: width)
                            sgemm(transA: false, transB: false, m: cout, n: width, k: rowsK, alpha: 1,
                                  a: pw, lda: rowsK, b: pc, ldb: width, beta: 1, c: py + offset, ldc: cols)
                        }
                    }
                }
                return
            }
            let pc = columnScratch.floats(rowsK * plan.samples * sampleColumns)
            for blockIndex in 0 ..< plan.blocks {
                let samples = plan.range(blockIndex)
                let width = samples.count * sampleColumns, offset = samples.lowerBound * sampleColumns
                im2col(px, input, kernel: kernel, stride: stride, tOut: tOut, samples: samples, into: pc, ld: width)
                sgemmParallel(transA: false, transB: false, m: cout, n: width, k: rowsK, alpha: 1,
                              a: pw, lda: rowsK, b: pc, ldb: width, beta: 1, c: py + offset, ldc: cols)
            }
        }
    }

    /// The backward without stored columns: per block, rebuild the columns in scratch, add
    /// dy·columnsᵀ to the weight gradient and fold Wᵀ·dy back onto dx while both are in cache.
    /// Narrow layers give each worker whole blocks and its own partial weight gradient (summed in
    /// worker order afterwards); wide layers split each slice's GEMMs between the workers.
    private func temporalConvBackwardStreaming(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                               weight: Tensor, dy: Tensor, dx: Tensor?, accumulate: Bool,
                                               dWeight: Tensor, dBias: Tensor, cout: Int, tOut: Int) {
        let cin = input.channels, rowsK = cin * kernel, cols = input.batch * tOut * input.joints
        let px = x.cpuPointer, pw = weight.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer, pdx = dx?.cpuPointer
        let sampleColumns = tOut * input.joints
        let plan = streamingPlan(cout: cout, rowsK: rowsK, sampleColumns: sampleColumns, batch: input.batch)
        let weights = cout * rowsK
        measure("temporalConvBackward", flops: 2 * Double(weights) * Double(cols) * (dx == nil ? 1 : 2)) {
            rowSums(pdy, rows: cout, cols: cols, into: pdb, threads: threads)
            let blockFloats = rowsK * plan.samples * sampleColumns
            if plan.perWorker {
                let workers = min(threads, plan.blocks)
                let perWorker = 2 * blockFloats + weights
                let scratch = columnScratch.floats(workers * perWorker)
                withSingleThreadedBLAS {
                    parallelChunks(plan.blocks, threads: threads) { worker, items in
                        let pc = scratch + worker * perWorker, dcol = pc + blockFloats, dw = dcol + blockFloats
                        for (i, blockIndex) in items.enumerated() {
                            let samples = plan.range(blockIndex)
                            let width = samples.count * sampleColumns, offset = samples.lowerBound * sampleColumns
                            im2colRows(px, input, kernel: kernel, stride: stride, tOut: tOut, rows: 0 ..< rowsK,
                                       samples: samples, into: pc, ld: width)
                            sgemm(transA: false, transB: true, m: cout, n: rowsK, k: width, alpha: 1,
                                  a: pdy + offset, lda: cols, b: pc, ldb: width, beta: i == 0 ? 0 : 1, c: dw, ldc: rowsK)
                            guard let pdx else { continue }
                            sgemm(transA: true, transB: false, m: rowsK, n: width, k: cout, alpha: 1,
                                  a: pw, lda: rowsK, b: pdy + offset, ldb: cols, beta: 0, c: dcol, ldc: width)
                            col2imChannels(dcol, input, kernel: kernel, stride: stride, tOut: tOut,
                                           channels: 0 ..< cin, samples: samples, ld: width, into: pdx,
                                           accumulate: accumulate)
                        }
                    }
                }
                // Partial weight gradients in worker order: deterministic for a thread count.
                sumPartials(scratch + 2 * blockFloats, stride: perWorker, parts: workers, count: weights, into: pdw)
                return
            }
            let pc = columnScratch.floats(2 * blockFloats), dcol = pc + blockFloats
            for blockIndex in 0 ..< plan.blocks {
                let samples = plan.range(blockIndex)
                let width = samples.count * sampleColumns, offset = samples.lowerBound * sampleColumns
                im2col(px, input, kernel: kernel, stride: stride, tOut: tOut, samples: samples, into: pc, ld: width)
                sgemmLongK(transA: false, transB: true, m: cout, n: rowsK, k: width, alpha: 1,
                           a: pdy + offset, lda: cols, b: pc, ldb: width, beta: blockIndex == 0 ? 0 : 1, c: pdw, ldc: rowsK)
                guard let pdx else { continue }
                sgemmParallel(transA: true, transB: false, m: rowsK, n: width, k: cout, alpha: 1,
                              a: pw, lda: rowsK, b: pdy + offset, ldb: cols, beta: 0, c: dcol, ldc: width)
                col2im(dcol, input, kernel: kernel, stride: stride, tOut: tOut, samples: samples, ld: width,
                       into: pdx, accumulate: accumulate)
            }
        }
    }

    /// Blocks of the streaming paths: cache-sized blocks of whole samples, each owned by one
    /// worker, for every layer (with no column buffer to fill, wide layers gain from this too:
    /// block 10 forward 329 vs 382 ms, backward 634 vs 687 ms against the stored-columns path).
    /// One thread walks slices of at most `wideScratchFloats` column elements instead.
    private func streamingPlan(cout: Int, rowsK: Int, sampleColumns: Int, batch: Int) -> StreamingPlan {
        let block = temporalBlocking.streamingSamplesPerBlock(rows: rowsK, sampleColumns: sampleColumns, batch: batch)
        if block < batch && threads > 1 {
            return StreamingPlan(samples: block, batch: batch, perWorker: true)
        }
        let slice = max(1, min(batch, temporalBlocking.wideScratchFloats / max(rowsK * sampleColumns, 1)))
        return StreamingPlan(samples: slice, batch: batch, perWorker: false)
    }

    /// columns[ci·kt + k, (n − first), to, :] = x[ci, n, to·s + k − pad, :] (zero outside 0 ..< T)
    /// for the samples n of `samples`; `c` points at the block's first column, rows `ld` apart.
    private func im2col(_ x: UnsafePointer<Float>, _ s: ActivationShape, kernel: Int, stride: Int, tOut: Int,
                        samples: Range<Int>, into c: UnsafeMutablePointer<Float>, ld: Int) {
        parallelFor(s.channels * kernel, threads: threads, minimumPerChunk: 4) { range in
            im2colRows(x, s, kernel: kernel, stride: stride, tOut: tOut, rows: range, samples: samples, into: c, ld: ld)
        }
    }

    /// The rows `rows` (ci·kt + k) of `im2col`, on the calling thread.
    private func im2colRows(_ x: UnsafePointer<Float>, _ s: ActivationShape, kernel: Int, stride: Int, tOut: Int,
                            rows: Range<Int>, samples: Range<Int>, into c: UnsafeMutablePointer<Float>, ld: Int) {
        let v = s.joints, t = s.frames, n = s.batch, pad = (kernel - 1) / 2
        let first = samples.lowerBound
        for row in rows {
            let ci = row / kernel, k = row % kernel
            for b in samples {
                let src = x + (ci * n + b) * t * v
                let dst = c + row * ld + (b - first) * tOut * v
                for to in 0 ..< tOut {
                    let ti = to * stride + k - pad
                    if ti >= 0 && ti < t {
                        (dst + to * v).update(from: src + ti * v, count: v)
                    } else {
                        (dst + to * v).update(repeating: 0, count: v)
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col` for one block: dx[ci, n, t, :] (+)= Σ_k dcolumns[ci·kt + k, n − first, to, :]
    /// over the (k, to) with to·s + k − pad = t. Each worker owns whole input channels.
    private func col2im(_ c: UnsafePointer<Float>, _ s: ActivationShape, kernel: Int, stride: Int, tOut: Int,
                        samples: Range<Int>, ld: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        parallelFor(s.channels, threads: threads) { range in
            col2imChannels(c, s, kernel: kernel, stride: stride, tOut: tOut, channels: range, samples: samples,
                           ld: ld, into: dx, accumulate: accumulate)
        }
    }

    /// The input channels `channels` of `col2im`, on the calling thread.
    private func col2imChannels(_ c: UnsafePointer<Float>, _ s: ActivationShape, kernel: Int, stride: Int,
                                tOut: Int, channels: Range<Int>, samples: Range<Int>, ld: Int,
                                into dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let v = s.joints, t = s.frames, n = s.batch, pad = (kernel - 1) / 2
        let first = samples.lowerBound
        for ci in channels {
            for b in samples {
                let dst = dx + (ci * n + b) * t * v
                if !accumulate { dst.update(repeating: 0, count: t * v) }
                for k in 0 ..< kernel {
                    let src = c + (ci * kernel + k) * ld + (b - first) * tOut * v
                    for to in 0 ..< tOut {
                        let ti = to * stride + k - pad
                        guard ti >= 0 && ti < t else { continue }
                        let d = dst + ti * v, sp = src + to * v
                        for j in 0 ..< v { d[j] += sp[j] }
                    }
                }
            }
        }
    }
}

/// How a streaming temporal convolution walks the batch.
private struct StreamingPlan {
    /// Samples per block (the last block may hold fewer).
    let samples: Int
    let batch: Int
    /// Whole blocks per worker (narrow layers) rather than GEMMs split between workers.
    let perWorker: Bool
    var blocks: Int { (batch + samples - 1) / samples }
    func range(_ block: Int) -> Range<Int> { block * samples ..< min((block + 1) * samples, batch) }
}
