import CPUKernels
import Compute

/// Elementwise ops, parallel over contiguous chunks. Chunks are large enough that waking
/// a worker pays off.
let elementwiseChunk = 1 << 15

extension CPUDevice {
    public func reluForward(x: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.reluForward(x: x, y: y) }) else { return }
        let n = x.count
        let px = x.cpuPointer, py = y.cpuPointer
        measure("reluForward", cost) {
            parallelFor(n, threads: threads, minimumPerChunk: elementwiseChunk) { r in
                for i in r { py[i] = max(px[i], 0) }
            }
        }
    }

    public func reluBackward(y: Tensor, dy: Tensor, dx: Tensor) {
        guard let cost = errors.check({ try OpContract.reluBackward(y: y, dy: dy, dx: dx) }) else { return }
        let n = y.count
        let py = y.cpuPointer, pdy = dy.cpuPointer, pdx = dx.cpuPointer
        measure("reluBackward", cost) {
            parallelFor(n, threads: threads, minimumPerChunk: elementwiseChunk) { r in
                // Both operands loaded unconditionally: a select, which vectorises, instead of a
                // branch on the sign, which mispredicts on about half of the elements.
                for i in r {
                    let g = pdy[i]
                    pdx[i] = py[i] > 0 ? g : 0
                }
            }
        }
    }

    /// y[i] = x[i]·scale where key.uniform(i) ≥ p, else 0. One Philox block (counter
    /// (i/4, stream, step, 0), key = the seed's low and high words) serves four consecutive
    /// elements, as in `RandomKey.uniform`. With `record`, bit j of record[b] is set when
    /// element 4·b + j is kept.
    private func applyDropoutMask(_ op: String, x: Tensor, p: Float, key: RandomKey, y: Tensor,
                                  record: Bool) {
        guard let cost = errors.check({ try OpContract.dropout(op, x: x, p: p, y: y) }) else { return }
        let n = x.count
        let px = x.cpuPointer, py = y.cpuPointer
        if p == 0 {
            if px != py { measure(op, cost) { py.update(from: px, count: n) } }
            return
        }
        let scale = DropoutSampleSlice.keptScale(p: p)
        // unitFloat(bits) = (bits >> 8)·2⁻²⁴ exactly, so "unitFloat(bits) ≥ p" is the integer
        // test (bits >> 8) ≥ ⌈p·2²⁴⌉ — no float conversion per element.
        let cut = UInt32((Double(p) * 16_777_216).rounded(.up))
        let blocks = (n + 3) / 4
        let cacheKey = DropoutMaskCache.Key(key: key, count: n, cut: cut)
        if !record {
            let reused = dropoutMasks.consume(cacheKey) { mask in
                measure(op, cost) {
                    applyRecordedMask(mask, x: px, scale: scale, y: py, count: n)
                }
            }
            if reused { return }
        }
        let maskOut = record ? dropoutMasks.record(cacheKey, size: blocks) : nil
        let (k0, k1) = key.keyWords
        let stream = key.stream, step = key.step
        measure(op, cost) {
            // Groups of eight blocks (32 elements) go through the vectorised rounds.
            let groups = (blocks + 7) / 8
            let vector = aimclr_isa() != AIMCLR_ISA_PORTABLE
            parallelFor(groups, threads: threads, minimumPerChunk: elementwiseChunk / 32) { r in
                let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
                let cuts = SIMD8<UInt32>(repeating: cut)
                var first = r.lowerBound
                if vector {
                    // Whole 16-block (AVX-512) or 8-block (AVX2) groups in C; the rest below.
                    let end = min(8 * r.upperBound, n / 4)
                    first = aimclr_dropout_philox(8 * r.lowerBound, end, stream, step, k0, k1, cut, scale,
                                                  px, py, maskOut) / 8
                }
                for g in first ..< r.upperBound {
                    let b0 = 8 * g
                    if 4 * (b0 + 8) <= n {
                        let w = philoxBlocks8(SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: b0)) &+ lanes,
                                              stream, step, 0, key: k0, k1)
                        // Mask byte per block: bit j set when word j keeps its element.
                        let one = SIMD8<UInt32>(repeating: 1), zero = SIMD8<UInt32>(repeating: 0)
                        var bits = zero.replacing(with: one, where: (w.0 &>> 8) .>= cuts)
                        bits |= zero.replacing(with: one &<< 1, where: (w.1 &>> 8) .>= cuts)
                        bits |= zero.replacing(with: one &<< 2, where: (w.2 &>> 8) .>= cuts)
                        bits |= zero.replacing(with: one &<< 3, where: (w.3 &>> 8) .>= cuts)
                        for j in 0 ..< 8 {
                            let m = UInt8(truncatingIfNeeded: bits[j])
                            maskOut?[b0 + j] = m
                            applyMaskByte(m, x: px + 4 * (b0 + j), scale: scale, y: py + 4 * (b0 + j))
                        }
                        continue
                    }
                    for b in b0 ..< min(b0 + 8, blocks) {
                        let bits = philoxBlock(UInt32(truncatingIfNeeded: b), stream, step, 0, key: k0, k1)
                        let keep0 = (bits.0 >> 8) >= cut, keep1 = (bits.1 >> 8) >= cut
                        let keep2 = (bits.2 >> 8) >= cut, keep3 = (bits.3 >> 8) >= cut
                        if let maskOut {
                            maskOut[b] = (keep0 ? 1 : 0) | (keep1 ? 2 : 0) | (keep2 ? 4 : 0) | (keep3 ? 8 : 0)
                        }
                        let i = 4 * b
                        if i + 4 <= n {
                            py[i] = select(keep0, px[i] * scale)
                            py[i + 1] = select(keep1, px[i + 1] * scale)
                            py[i + 2] = select(keep2, px[i + 2] * scale)
                            py[i + 3] = select(keep3, px[i + 3] * scale)
                        } else {
                            let keeps = (keep0, keep1, keep2)
                            for j in i ..< n {
                                let keep = j - i == 0 ? keeps.0 : (j - i == 1 ? keeps.1 : keeps.2)
                                py[j] = select(keep, px[j] * scale)
                            }
                        }
                    }
                }
            }
        }
    }

    /// y[i] = x[i]·scale where bit i % 4 of mask[i / 4] is set, else 0.
    private func applyRecordedMask(_ mask: UnsafePointer<UInt8>, x px: UnsafePointer<Float>, scale: Float,
                                   y py: UnsafeMutablePointer<Float>, count n: Int) {
        let blocks = (n + 3) / 4
        parallelFor(blocks, threads: threads, minimumPerChunk: elementwiseChunk / 4) { r in
            for b in r {
                let m = mask[b]
                let i = 4 * b
                if i + 4 <= n {
                    applyMaskByte(m, x: px + i, scale: scale, y: py + i)
                } else {
                    for j in i ..< n { py[j] = select(m & (1 << UInt8(j - i)) != 0, px[j] * scale) }
                }
            }
        }
    }

    public func dropoutForward(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, y: Tensor) {
        if let s = slice, !s.isWhole {
            applySlicedDropout("dropoutForward", x: x, p: p, key: key, slice: s, y: y)
        } else {
            applyDropoutMask("dropoutForward", x: x, p: p, key: key, y: y, record: true)
        }
    }

    /// The mask is a pure function of (key, element); the backward reuses the one its forward
    /// recorded (see `DropoutMaskCache`) or regenerates it.
    public func dropoutBackward(dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, dx: Tensor) {
        if let s = slice, !s.isWhole {
            applySlicedDropout("dropoutBackward", x: dy, p: p, key: key, slice: s, y: dx)
        } else {
            applyDropoutMask("dropoutBackward", x: dy, p: p, key: key, y: dx, record: false)
        }
    }

    /// Dropout of a rank's part of the batch with the whole batch's mask: each (outer) row of
    /// `samples·inner` elements is one contiguous run of global elements, drawn block by block
    /// (a run need not start on a Philox block, so its first and last blocks are partial).
    /// Regenerated in the backward (no mask cache: the data-parallel path only).
    private func applySlicedDropout(_ op: String, x: Tensor, p: Float, key: RandomKey, slice s: DropoutSampleSlice,
                                    y: Tensor) {
        guard let cost = errors.check({ try OpContract.dropout(op, x: x, p: p, y: y, slice: s) }) else { return }
        let n = x.count
        let px = x.cpuPointer, py = y.cpuPointer
        if p == 0 {
            if px != py { measure(op, cost) { py.update(from: px, count: n) } }
            return
        }
        let scale = DropoutSampleSlice.keptScale(p: p)
        let cut = UInt32((Double(p) * 16_777_216).rounded(.up))
        let (k0, k1) = key.keyWords
        let stream = key.stream, step = key.step
        let row = s.samples * s.inner
        measure(op, cost) {
            parallelFor(n / row, threads: threads, minimumPerChunk: max(1, elementwiseChunk / row)) { rows in
                for o in rows {
                    let local = o * row, global = (o * s.globalSamples + s.offset) * s.inner
                    var b = global / 4
                    while 4 * b < global + row {
                        let bits = philoxBlock(UInt32(truncatingIfNeeded: b), stream, step, 0, key: k0, k1)
                        for w in 0 ..< 4 {
                            let g = 4 * b + w
                            guard g >= global && g < global + row else { continue }
                            let word = w == 0 ? bits.0 : (w == 1 ? bits.1 : (w == 2 ? bits.2 : bits.3))
                            let i = local + g - global
                            py[i] = (word >> 8) >= cut ? px[i] * scale : 0
                        }
                        b += 1
                    }
                }
            }
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, y: Tensor) { binary(Sum.self, "add", a, b, y) }

    public func addReLU(_ a: Tensor, _ b: Tensor, y: Tensor) { binary(SumReLU.self, "addReLU", a, b, y) }

    /// The dropout (its masks cached for the backward, see `DropoutMaskCache`), then the sum and
    /// ReLU: on the CPU the passes run from cache, so they stay separate ops.
    public func dropoutResidualReLU(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, residual: Tensor?,
                                    y: Tensor) {
        let part = DropoutSampleSlice.part(of: slice)
        guard errors.check({ try OpContract.dropoutResidualReLU(x: x, p: p, slice: part, residual: residual, y: y) }) != nil
        else { return }
        composedDropoutResidualReLU(x: x, p: p, key: key, slice: slice, residual: residual, y: y)
    }

    public func reluDropoutBackward(y: Tensor, dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?,
                                    masked: Tensor, dx: Tensor) {
        let part = DropoutSampleSlice.part(of: slice)
        guard errors.check({ try OpContract.reluDropoutBackward(y: y, dy: dy, p: p, slice: part, masked: masked, dx: dx) })
            != nil else { return }
        composedReLUDropoutBackward(y: y, dy: dy, p: p, key: key, slice: slice, masked: masked, dx: dx)
    }

    public func multiply(_ a: Tensor, _ b: Tensor, y: Tensor) { binary(Product.self, "multiply", a, b, y) }

    /// y[i] = Op(a[i], b[i]) over a's elements, parallel over chunks (y may alias a or b). The op
    /// is a type, not a closure, so each use is specialised into its own vectorised loop.
    private func binary<Op: BinaryElementwise>(_: Op.Type, _ name: String, _ a: Tensor, _ b: Tensor, _ y: Tensor) {
        guard let cost = errors.check({ try OpContract.binary(name, a: a, b: b, y: y) }) else { return }
        let n = a.count
        let pa = a.cpuPointer, pb = b.cpuPointer, py = y.cpuPointer
        measure(name, cost) {
            parallelFor(n, threads: threads, minimumPerChunk: elementwiseChunk) { r in
                for i in r { py[i] = Op.apply(pa[i], pb[i]) }
            }
        }
    }

    public func axpby(alpha: Float, x: Tensor, beta: Float, y: Tensor) {
        guard let cost = errors.check({ try OpContract.axpby(x: x, y: y) }) else { return }
        let n = x.count
        let px = x.cpuPointer, py = y.cpuPointer
        measure("axpby", cost) {
            parallelFor(n, threads: threads, minimumPerChunk: elementwiseChunk) { r in
                if beta == 0 {
                    for i in r { py[i] = alpha * px[i] }
                } else {
                    for i in r { py[i] = alpha * px[i] + beta * py[i] }
                }
            }
        }
    }

    public func permute(x: Tensor, shape: [Int], perm: [Int], y: Tensor) {
        guard let cost = errors.check({ try OpContract.permute(x: x, shape: shape, perm: perm, y: y) }) else { return }
        let rank = shape.count, n = shape.reduce(1, *)
        if rank == 4 && perm == [0, 2, 1, 3] {
            swapMiddleDimensions(x: x.cpuPointer, shape: shape, y: y.cpuPointer)
            return
        }
        // Pad to six dims at the front so one loop nest covers every rank.
        let pad = 6 - rank
        var inShape = [Int](repeating: 1, count: 6)
        var inStride = [Int](repeating: 0, count: 6)
        var running = 1
        for d in (0 ..< rank).reversed() {
            inShape[pad + d] = shape[d]
            inStride[pad + d] = running
            running *= shape[d]
        }
        var outShape = [Int](repeating: 1, count: 6)
        var outSrcStride = [Int](repeating: 0, count: 6)
        for i in 0 ..< rank {
            outShape[pad + i] = shape[perm[i]]
            outSrcStride[pad + i] = inStride[pad + perm[i]]
        }
        let d = (outShape[0], outShape[1], outShape[2], outShape[3], outShape[4], outShape[5])
        let s = (outSrcStride[0], outSrcStride[1], outSrcStride[2], outSrcStride[3], outSrcStride[4], outSrcStride[5])
        let rows = n / max(d.5, 1)
        let px = x.cpuPointer, py = y.cpuPointer
        measure("permute", cost) {
            guard n > 0 else { return }
            parallelFor(rows, threads: threads, minimumPerChunk: max(1, elementwiseChunk / max(d.5, 1))) { r in
                for row in r {
                    // Decode the output row (i0 … i4) and find its source offset.
                    var rem = row
                    let i4 = rem % d.4; rem /= d.4
                    let i3 = rem % d.3; rem /= d.3
                    let i2 = rem % d.2; rem /= d.2
                    let i1 = rem % d.1; rem /= d.1
                    let i0 = rem
                    let src = px + i0 * s.0 + i1 * s.1 + i2 * s.2 + i3 * s.3 + i4 * s.4
                    let dst = py + row * d.5
                    if s.5 == 1 {
                        dst.update(from: src, count: d.5)
                    } else {
                        for j in 0 ..< d.5 { dst[j] = src[j * s.5] }
                    }
                }
            }
        }
    }
}

extension CPUDevice {
    /// (C, A, B, V) → (C, B, A, V), e.g. sample-major ↔ frame-major activations: per output
    /// group (c, b), A rows of V floats gathered B·V apart.
    private func swapMiddleDimensions(x: UnsafeMutablePointer<Float>, shape: [Int], y: UnsafeMutablePointer<Float>) {
        let (c, a, b, v) = (shape[0], shape[1], shape[2], shape[3])
        measure("permute", bytes: Double(8 * c * a * b * v)) {
            parallelFor(c * b, threads: threads, minimumPerChunk: max(1, elementwiseChunk / max(a * v, 1))) { groups in
                for g in groups {
                    let ch = g / b, j = g % b
                    aimclr_copy_rows(x + (ch * a * b + j) * v, b * v, y + (ch * b + j) * a * v, v, a, v)
                }
            }
        }
    }
}

/// `keep ? value : 0` with the value computed by the caller either way, so the compiler emits
/// a select rather than a branch (dropout keeps a random half of the elements; a branch on
/// that mispredicts every other element).
@inline(__always)
private func select(_ keep: Bool, _ value: Float) -> Float {
    keep ? value : 0
}

/// y[j] = x[j]·scale where bit j of `mask` is set, else +0, for j in 0 ..< 4, as one vector
/// multiply and select.
@inline(__always)
private func applyMaskByte(_ mask: UInt8, x: UnsafePointer<Float>, scale: Float, y: UnsafeMutablePointer<Float>) {
    let keep = (SIMD4<UInt32>(repeating: UInt32(mask)) & SIMD4<UInt32>(1, 2, 4, 8)) .!= 0
    let v = UnsafeRawPointer(x).loadUnaligned(as: SIMD4<Float>.self) * scale
    UnsafeMutableRawPointer(y).storeBytes(of: SIMD4<Float>(repeating: 0).replacing(with: v, where: keep),
                                          as: SIMD4<Float>.self)
}

/// An elementwise op on two floats, for `CPUDevice.binary`.
private protocol BinaryElementwise {
    static func apply(_ a: Float, _ b: Float) -> Float
}

private enum Sum: BinaryElementwise {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}

private enum SumReLU: BinaryElementwise {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { max(a + b, 0) }
}

private enum Product: BinaryElementwise {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}
