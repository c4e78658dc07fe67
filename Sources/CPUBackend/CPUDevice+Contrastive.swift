import Compute

/// MoCo pieces: the logits against the key and the queue, their gradient with respect to
/// the query, the nearest-neighbour positive mask, and the queue update.
extension CPUDevice {
    public func contrastiveLogits(q: Tensor, k: Tensor, queue: Tensor, temperature: Float, logits: Tensor) {
        guard let cost = errors.check({
            try OpContract.contrastiveLogits("contrastiveLogits", q: q, k: k, queue: queue, logits: logits)
        }) else { return }
        let b = q.dim(0), d = q.dim(1), kq = queue.dim(1)
        let pq = q.cpuPointer, pk = k.cpuPointer, pqueue = queue.cpuPointer, pl = logits.cpuPointer
        let inv = 1 / temperature
        measure("contrastiveLogits", cost) {
            // l[:, 1...] = q · queue / τ, written straight into the strided logits.
            sgemm(transA: false, transB: false, m: b, n: kq, k: d, alpha: inv,
                  a: pq, lda: d, b: pqueue, ldb: kq, beta: 0, c: pl + 1, ldc: 1 + kq)
            for r in 0 ..< b {
                var s: Float = 0
                for j in 0 ..< d { s += pq[r * d + j] * pk[r * d + j] }
                pl[r * (1 + kq)] = s * inv
            }
        }
    }

    public func contrastiveLogitsBackward(k: Tensor, queue: Tensor, temperature: Float, dLogits: Tensor, dq: Tensor) {
        guard let cost = errors.check({
            try OpContract.contrastiveLogits("contrastiveLogitsBackward", q: dq, k: k, queue: queue, logits: dLogits)
        }) else { return }
        let b = dq.dim(0), d = dq.dim(1), kq = queue.dim(1)
        let pk = k.cpuPointer, pqueue = queue.cpuPointer, pdl = dLogits.cpuPointer, pdq = dq.cpuPointer
        let inv = 1 / temperature
        measure("contrastiveLogitsBackward", cost) {
            // dq(B, D) = dl[:, 1...](B, K) · queueᵀ(K, D) / τ
            sgemm(transA: false, transB: true, m: b, n: d, k: kq, alpha: inv,
                  a: pdl + 1, lda: 1 + kq, b: pqueue, ldb: kq, beta: 0, c: pdq, ldc: d)
            for r in 0 ..< b {
                let g = pdl[r * (1 + kq)] * inv
                for j in 0 ..< d { pdq[r * d + j] += g * pk[r * d + j] }
            }
        }
    }

    /// Top-k of columns 1...K per row; ties go to the lower index. NaNs are never selected.
    public func nearestNeighbourMask(similarities: [Tensor], topK: Int, mask: Tensor) {
        guard let cost = errors.check({
            try OpContract.nearestNeighbourMask(similarities: similarities, topK: topK, mask: mask)
        }) else { return }
        let b = mask.dim(0), w = mask.dim(1)
        let kk = min(max(topK, 0), w - 1)
        let pm = mask.cpuPointer
        let sources = similarities.map { UnsafePointer($0.cpuPointer) }
        measure("nearestNeighbourMask", cost) {
            pm.update(repeating: 0, count: b * w)
            sources.withUnsafeBufferPointer { srcs in
                parallelFor(b, threads: threads, minimumPerChunk: max(1, 16384 / max(w, 1))) { rows in
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: max(kk, 1)) { best in
                        for r in rows {
                            let m = pm + r * w
                            m[0] = 1
                            guard kk > 0 else { continue }
                            for src in srcs {
                                let x = src + r * w
                                // Sorted (value desc, index asc) list of the best kk columns so far.
                                var filled = 0
                                for j in 1 ..< w {
                                    let v = x[j]
                                    if v.isNaN { continue }
                                    // Strictly greater than the current worst: equal values keep the lower index.
                                    if filled == kk && !(v > x[best[kk - 1]]) { continue }
                                    var pos = filled == kk ? kk - 1 : filled
                                    while pos > 0 && v > x[best[pos - 1]] {
                                        best[pos] = best[pos - 1]
                                        pos -= 1
                                    }
                                    best[pos] = j
                                    if filled < kk { filled += 1 }
                                }
                                for i in 0 ..< filled { m[best[i]] = 1 }
                            }
                        }
                    }
                }
            }
        }
    }

    public func enqueue(keys: Tensor, queue: Tensor, pointer: Int) {
        guard let cost = errors.check({ try OpContract.enqueue(keys: keys, queue: queue, pointer: pointer) })
        else { return }
        let b = keys.dim(0), d = keys.dim(1), k = queue.dim(1)
        let pk = keys.cpuPointer, pq = queue.cpuPointer
        measure("enqueue", cost) {
            for j in 0 ..< d {
                let row = pq + j * k + pointer
                for r in 0 ..< b { row[r] = pk[r * d + j] }
            }
        }
    }
}
