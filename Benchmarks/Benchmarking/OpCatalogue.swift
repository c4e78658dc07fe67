import Compute

/// The op benchmarks at the shapes of one pretraining iteration (spec §2.3): batch B samples,
/// B·2 person-sequences, 25 joints, hidden 16, last block 64 → 256, queue 32,768.
public enum OpCatalogue {
    /// One ST-GCN block's geometry.
    struct Block { var index: Int; var cin: Int; var cout: Int; var stride: Int; var frames: Int }

    static let blocks: [Block] = [
        Block(index: 1, cin: 3, cout: 16, stride: 1, frames: 50),
        Block(index: 2, cin: 16, cout: 16, stride: 1, frames: 50),
        Block(index: 5, cin: 16, cout: 32, stride: 2, frames: 50),
        Block(index: 7, cin: 32, cout: 32, stride: 1, frames: 25),
        Block(index: 8, cin: 32, cout: 64, stride: 2, frames: 25),
        Block(index: 9, cin: 64, cout: 64, stride: 1, frames: 13),
        Block(index: 10, cin: 64, cout: 256, stride: 1, frames: 13),
    ]

    public static func cases(batch: Int) -> [OpCase] {
        let persons = batch * 2, joints = 25, partitions = 3
        var list: [OpCase] = []

        // The single largest GEMM of an iteration: block 10's temporal convolution as im2col GEMM.
        do {
            let m = 256, n = persons * 13 * joints, k = 256 * 9
            list.append(OpCase(op: "sgemm", shape: "\(m)x\(n)x\(k) (block-10 tcn)") { d in
                let a = try randomTensor(d, [m, k], seed: 1)
                let b = try randomTensor(d, [k, n], seed: 2)
                let c = try d.makeTensor([m, n])
                return { d.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, aOffset: 0, lda: k,
                                b: b, bOffset: 0, ldb: n, beta: 0, c: c, cOffset: 0, ldc: n) }
            })
        }

        for blk in blocks {
            let inShape = ActivationShape(channels: blk.cin, batch: persons, frames: blk.frames, joints: joints)
            let mid = ActivationShape(channels: blk.cout, batch: persons, frames: blk.frames, joints: joints)
            let tOut = (blk.frames - 1) / blk.stride + 1
            let tag = "block \(blk.index) \(blk.cin)->\(blk.cout) T\(blk.frames)"
            list.append(OpCase(op: "graph_conv.fwd", shape: tag) { d in
                let x = try randomTensor(d, inShape.dims, seed: 3)
                let w = try randomTensor(d, [partitions * blk.cout, blk.cin], seed: 4, scale: 0.1)
                let b = try randomTensor(d, [partitions * blk.cout], seed: 5, scale: 0.1)
                let a = try randomTensor(d, [partitions, joints, joints], seed: 6, scale: 0.2)
                let e = try d.tensor(filledWith: 1, shape: [partitions, joints, joints])
                let z = try d.makeTensor([partitions * blk.cout] + Array(inShape.dims.dropFirst()))
                let y = try d.makeTensor(mid.dims)
                return { d.graphConvForward(x: x, input: inShape, weight: w, bias: b, adjacency: a, importance: e, z: z, y: y) }
            })
            list.append(OpCase(op: "graph_conv.inference", shape: tag) { d in
                let x = try randomTensor(d, inShape.dims, seed: 3)
                let w = try randomTensor(d, [partitions * blk.cout, blk.cin], seed: 4, scale: 0.1)
                let b = try randomTensor(d, [partitions * blk.cout], seed: 5, scale: 0.1)
                let a = try randomTensor(d, [partitions, joints, joints], seed: 6, scale: 0.2)
                let e = try d.tensor(filledWith: 1, shape: [partitions, joints, joints])
                let s = try randomTensor(d, [blk.cout], seed: 12, offset: 1), t = try randomTensor(d, [blk.cout], seed: 13)
                let y = try d.makeTensor(mid.dims)
                return { d.graphConvInference(x: x, input: inShape, weight: w, bias: b, adjacency: a, importance: e,
                                              epilogue: ChannelEpilogue(scale: s, shift: t, relu: true), y: y) }
            })
            list.append(OpCase(op: "graph_conv.bwd", shape: tag) { d in
                let x = try randomTensor(d, inShape.dims, seed: 3)
                let w = try randomTensor(d, [partitions * blk.cout, blk.cin], seed: 4, scale: 0.1)
                let b = try randomTensor(d, [partitions * blk.cout], seed: 5, scale: 0.1)
                let a = try randomTensor(d, [partitions, joints, joints], seed: 6, scale: 0.2)
                let e = try d.tensor(filledWith: 1, shape: [partitions, joints, joints])
                let z = try d.makeTensor([partitions * blk.cout] + Array(inShape.dims.dropFirst()))
                let y = try d.makeTensor(mid.dims)
                d.graphConvForward(x: x, input: inShape, weight: w, bias: b, adjacency: a, importance: e, z: z, y: y)
                let dy = try randomTensor(d, mid.dims, seed: 7)
                let dz = try d.makeTensor(z.shape), dx = try d.makeTensor(inShape.dims)
                let dw = try d.makeTensor(w.shape), db = try d.makeTensor(b.shape), de = try d.makeTensor(e.shape)
                return { d.graphConvBackward(x: x, input: inShape, weight: w, adjacency: a, importance: e, z: z, dy: dy,
                                             dz: dz, dx: dx, accumulate: false, dWeight: dw, dBias: db, dImportance: de) }
            })

            let out = ActivationShape(channels: blk.cout, batch: persons, frames: tOut, joints: joints)
            let ttag = "block \(blk.index) \(blk.cout)->\(blk.cout) T\(blk.frames) s\(blk.stride)"
            let colCount = blk.cout * 9 * out.plane
            // "stored" keeps the forward's im2col for the backward; "streamed" (what training
            // uses) builds it in scratch and rebuilds it in the backward.
            for stored in [true, false] {
                let suffix = stored ? "" : ".streamed"
                list.append(OpCase(op: "temporal_conv.fwd" + suffix, shape: ttag) { d in
                    let x = try randomTensor(d, mid.dims, seed: 8)
                    let w = try randomTensor(d, [blk.cout, blk.cout, 9], seed: 9, scale: 0.05)
                    let b = try randomTensor(d, [blk.cout], seed: 10, scale: 0.1)
                    let cols = stored ? try d.makeTensor([colCount]) : nil
                    let y = try d.makeTensor(out.dims)
                    return { d.temporalConvForward(x: x, input: mid, kernel: 9, stride: blk.stride, weight: w, bias: b, columns: cols, y: y) }
                })
                list.append(OpCase(op: "temporal_conv.bwd" + suffix, shape: ttag) { d in
                    let x = try randomTensor(d, mid.dims, seed: 8)
                    let w = try randomTensor(d, [blk.cout, blk.cout, 9], seed: 9, scale: 0.05)
                    let b = try randomTensor(d, [blk.cout], seed: 10, scale: 0.1)
                    let cols = stored ? try d.makeTensor([colCount]) : nil
                    let y = try d.makeTensor(out.dims)
                    d.temporalConvForward(x: x, input: mid, kernel: 9, stride: blk.stride, weight: w, bias: b, columns: cols, y: y)
                    let dy = try randomTensor(d, out.dims, seed: 11)
                    let dx = try d.makeTensor(mid.dims), dw = try d.makeTensor(w.shape), db = try d.makeTensor(b.shape)
                    return { d.temporalConvBackward(x: x, input: mid, kernel: 9, stride: blk.stride, weight: w, columns: cols,
                                                    dy: dy, dx: dx, accumulate: false, dWeight: dw, dBias: db) }
                })
            }
        }

        // Block 10's temporal convolution on a frame-major view (C, T, N·V): one GEMM per tap.
        do {
            let view = ActivationShape(channels: 256, batch: 1, frames: 13, joints: persons * joints)
            list.append(OpCase(op: "temporal_conv.fwd.framemajor", shape: "block 10 256->256 T13 s1") { d in
                let x = try randomTensor(d, view.dims, seed: 8)
                let w = try randomTensor(d, [256, 256, 9], seed: 9, scale: 0.05)
                let b = try randomTensor(d, [256], seed: 10, scale: 0.1)
                let y = try d.makeTensor(view.dims)
                return { d.temporalConvForward(x: x, input: view, kernel: 9, stride: 1, weight: w, bias: b, columns: nil, y: y) }
            })
            list.append(OpCase(op: "temporal_conv.bwd.framemajor", shape: "block 10 256->256 T13 s1") { d in
                let x = try randomTensor(d, view.dims, seed: 8)
                let w = try randomTensor(d, [256, 256, 9], seed: 9, scale: 0.05)
                let dy = try randomTensor(d, view.dims, seed: 11)
                let dx = try d.makeTensor(view.dims), dw = try d.makeTensor(w.shape), db = try d.makeTensor([256])
                return { d.temporalConvBackward(x: x, input: view, kernel: 9, stride: 1, weight: w, columns: nil,
                                                dy: dy, dx: dx, accumulate: false, dWeight: dw, dBias: db) }
            })
            let nmajor = ActivationShape(channels: 256, batch: persons, frames: 13, joints: joints)
            list.append(OpCase(op: "permute.framemajor", shape: "(256, \(persons), 13, \(joints))") { d in
                let x = try randomTensor(d, nmajor.dims, seed: 8)
                let y = try d.makeTensor(nmajor.dims)
                return { d.permute(x: x, shape: nmajor.dims, perm: [0, 2, 1, 3], y: y) }
            })
        }

        // Memory-bound ops at the block-2 and block-10 activation sizes.
        for (c, t) in [(16, 50), (256, 13)] {
            let s = ActivationShape(channels: c, batch: persons, frames: t, joints: joints)
            let tag = "(\(c), \(persons), \(t), \(joints))"
            list.append(OpCase(op: "batch_norm.fwd", shape: tag) { d in
                let x = try randomTensor(d, s.dims, seed: 12)
                let g = try d.tensor(filledWith: 1, shape: [c]), b = try d.tensor(filledWith: 0, shape: [c])
                let rm = try d.tensor(filledWith: 0, shape: [c]), rv = try d.tensor(filledWith: 1, shape: [c])
                let sm = try d.makeTensor([c]), si = try d.makeTensor([c]), y = try d.makeTensor(s.dims)
                return { d.batchNormForward(x: x, channels: c, training: true, momentum: 0.1, epsilon: 1e-5, gamma: g, beta: b,
                                            runningMean: rm, runningVar: rv, savedMean: sm, savedInvStd: si, relu: false, y: y) }
            })
            list.append(OpCase(op: "batch_norm.bwd", shape: tag) { d in
                let x = try randomTensor(d, s.dims, seed: 12)
                let g = try d.tensor(filledWith: 1, shape: [c]), b = try d.tensor(filledWith: 0, shape: [c])
                let rm = try d.tensor(filledWith: 0, shape: [c]), rv = try d.tensor(filledWith: 1, shape: [c])
                let sm = try d.makeTensor([c]), si = try d.makeTensor([c]), y = try d.makeTensor(s.dims)
                d.batchNormForward(x: x, channels: c, training: true, momentum: 0.1, epsilon: 1e-5, gamma: g, beta: b,
                                   runningMean: rm, runningVar: rv, savedMean: sm, savedInvStd: si, relu: false, y: y)
                let dy = try randomTensor(d, s.dims, seed: 13), dx = try d.makeTensor(s.dims)
                let dg = try d.makeTensor([c]), db = try d.makeTensor([c])
                return { d.batchNormBackward(x: x, channels: c, training: true, gamma: g, savedMean: sm, savedInvStd: si,
                                             dy: dy, dx: dx, dGamma: dg, dBeta: db) }
            })
            list.append(OpCase(op: "relu.fwd", shape: tag) { d in
                let x = try randomTensor(d, s.dims, seed: 14), y = try d.makeTensor(s.dims)
                return { d.reluForward(x: x, y: y) }
            })
            list.append(OpCase(op: "dropout.fwd", shape: tag) { d in
                let x = try randomTensor(d, s.dims, seed: 15), y = try d.makeTensor(s.dims)
                var step: UInt32 = 0
                return { step &+= 1; d.dropoutForward(x: x, p: 0.5, key: RandomKey(seed: 1, stream: 2, step: step), y: y) }
            })
            // A training block's end: dropout, residual sum and ReLU, fused and as the three ops.
            for fused in [true, false] {
                list.append(OpCase(op: fused ? "block_end.fwd" : "block_end.fwd (unfused)", shape: tag) { d in
                    let x = try randomTensor(d, s.dims, seed: 24), r = try randomTensor(d, s.dims, seed: 25)
                    let y = try d.makeTensor(s.dims)
                    var step: UInt32 = 0
                    return {
                        step &+= 1
                        let key = RandomKey(seed: 1, stream: 2, step: step)
                        if fused {
                            d.dropoutResidualReLU(x: x, p: 0.5, key: key, slice: nil, residual: r, y: y)
                        } else {
                            d.dropoutForward(x: x, p: 0.5, key: key, y: y)
                            d.addReLU(y, r, y: y)
                        }
                    }
                })
                list.append(OpCase(op: fused ? "block_end.bwd" : "block_end.bwd (unfused)", shape: tag) { d in
                    let y = try randomTensor(d, s.dims, seed: 26), dy = try randomTensor(d, s.dims, seed: 27)
                    let masked = try d.makeTensor(s.dims), dx = try d.makeTensor(s.dims)
                    let key = RandomKey(seed: 1, stream: 2, step: 3)
                    return {
                        if fused {
                            d.reluDropoutBackward(y: y, dy: dy, p: 0.5, key: key, slice: nil, masked: masked, dx: dx)
                        } else {
                            d.reluBackward(y: y, dy: dy, dx: masked)
                            d.dropoutBackward(dy: masked, p: 0.5, key: key, dx: dx)
                        }
                    }
                })
            }
        }

        do { // block 10's residual 1x1 conv, 64 -> 256
            let s = ActivationShape(channels: 64, batch: persons, frames: 13, joints: joints)
            list.append(OpCase(op: "conv1x1.fwd", shape: "block 10 residual 64->256 T13") { d in
                let x = try randomTensor(d, s.dims, seed: 16)
                let w = try randomTensor(d, [256, 64], seed: 17, scale: 0.1), b = try randomTensor(d, [256], seed: 18)
                let y = try d.makeTensor([256, persons, 13, joints])
                return { d.conv1x1Forward(x: x, input: s, stride: 1, weight: w, bias: b, y: y) }
            })
        }

        do { // EADM on block 10's output
            let s = ActivationShape(channels: 256, batch: persons, frames: 13, joints: joints)
            list.append(OpCase(op: "eadm.fwd", shape: "\(s)") { d in
                let x = try randomTensor(d, s.dims, seed: 19, scale: 0.5, offset: 0.5)
                let scale = try d.makeTensor(s.dims), y = try d.makeTensor(s.dims)
                return { d.eadmForward(x: x, shape: s, threshold: 0.7, lambda: 1e-4, noOp: false, scale: scale, y: y) }
            })
        }

        do { // pooling over (T, V) and persons
            let plane = 13 * joints
            list.append(OpCase(op: "pool.fwd", shape: "(256, \(persons), 13x25) -> (\(batch), 256)") { d in
                let x = try randomTensor(d, [256, persons, 13, joints], seed: 20), y = try d.makeTensor([batch, 256])
                return { d.poolForward(x: x, channels: 256, samples: batch, persons: 2, plane: plane, y: y) }
            })
        }

        // MoCo head: logits against the queue and the three losses over (B, 1 + K).
        let dim = 128, queueSize = 32768
        list.append(OpCase(op: "contrastive_logits.fwd", shape: "B\(batch) D\(dim) K\(queueSize)") { d in
            let q = try randomTensor(d, [batch, dim], seed: 21), k = try randomTensor(d, [batch, dim], seed: 22)
            let queue = try randomTensor(d, [dim, queueSize], seed: 23)
            let l = try d.makeTensor([batch, queueSize + 1])
            return { d.contrastiveLogits(q: q, k: k, queue: queue, temperature: 0.07, logits: l) }
        })
        list.append(OpCase(op: "contrastive_logits.bwd", shape: "B\(batch) D\(dim) K\(queueSize)") { d in
            let k = try randomTensor(d, [batch, dim], seed: 22), queue = try randomTensor(d, [dim, queueSize], seed: 23)
            let dl = try randomTensor(d, [batch, queueSize + 1], seed: 24), dq = try d.makeTensor([batch, dim])
            return { d.contrastiveLogitsBackward(k: k, queue: queue, temperature: 0.07, dLogits: dl, dq: dq) }
        })
        list.append(OpCase(op: "softmax_ce", shape: "(\(batch), \(queueSize + 1))") { d in
            let l = try randomTensor(d, [batch, queueSize + 1], seed: 25, scale: 5)
            let labels = try d.tensor(filledWith: 0, shape: [batch])
            let loss = try d.makeTensor([1]), dl = try d.makeTensor(l.shape)
            return { d.softmaxCrossEntropy(logits: l, labels: labels, scale: 1, loss: loss, dLogits: dl) }
        })
        list.append(OpCase(op: "soft_target_ce", shape: "(\(batch), \(queueSize + 1))") { d in
            let l = try randomTensor(d, [batch, queueSize + 1], seed: 26, scale: 5)
            let t = try randomTensor(d, [batch, queueSize + 1], seed: 27, scale: 5)
            let loss = try d.makeTensor([1]), dl = try d.makeTensor(l.shape)
            return { d.softTargetCrossEntropy(logits: l, targetLogits: t, scale: 0.5, loss: loss, dLogits: dl) }
        })

        do { // one SGD step over the query encoder's 920,068 parameters
            let n = 920_068
            list.append(OpCase(op: "sgd_step", shape: "\(n) params") { d in
                let w = try randomTensor(d, [n], seed: 28), g = try randomTensor(d, [n], seed: 29)
                let buf = try d.tensor(filledWith: 0, shape: [n])
                return { d.sgdStep(weight: w, grad: g, momentumBuffer: buf, learningRate: 0.1, momentum: 0.9,
                                   weightDecay: 1e-4, firstStep: false) }
            })
        }
        return list
    }
}
