extension OpContract {
    /// Rows and columns of a loss's (B, K) logits.
    public static func lossGeometry(_ op: String, logits: Tensor, loss: Tensor, dLogits: Tensor?) throws
        -> (rows: Int, columns: Int) {
        try require(logits.shape.count >= 1 && loss.count >= 1, op, "logits \(logits.shape), loss \(loss.shape)")
        let b = logits.dim(0), k = b == 0 ? 0 : logits.count / b
        try require(dLogits == nil || dLogits!.count >= b * k, op,
                    "dLogits \(dLogits.map { "\($0.shape)" } ?? "none") for logits \(logits.shape)")
        return (b, k)
    }

    /// softmaxCrossEntropy (one label per row), softTargetCrossEntropy and maskedCrossEntropy (a
    /// second (B, K) input): `second` is the labels, target logits or positives.
    public static func crossEntropy(_ op: String, logits: Tensor, second: Tensor, perRow: Bool, loss: Tensor,
                                    dLogits: Tensor?) throws -> OpCost {
        let (b, k) = try lossGeometry(op, logits: logits, loss: loss, dLogits: dLogits)
        try require(second.count >= (perRow ? b : b * k), op, "\(perRow ? "labels" : "second input") \(second.shape) "
                        + "for logits \(logits.shape)")
        return OpCost(flops: 6 * Double(b * k),
                      bytes: floats(b * k * (dLogits == nil ? 1 : 2) + (perRow ? b : b * k)))
    }

    /// (B, D, K) of the contrastive logits: q or dq (B, D), k (B, D), queue (D, K), logits (B, 1 + K).
    static func contrastiveGeometry(_ op: String, q: Tensor, k: Tensor, queue: Tensor, logits: Tensor) throws
        -> (b: Int, d: Int, kq: Int) {
        try require(q.shape.count == 2 && queue.shape.count == 2 && queue.dim(0) == q.dim(1), op,
                    "q \(q.shape) must be (B, D) and queue \(queue.shape) (D, K)")
        let b = q.dim(0), d = q.dim(1), kq = queue.dim(1)
        try require(k.count >= b * d && logits.count >= b * (1 + kq), op,
                    "k \(k.shape), logits \(logits.shape) for q \(q.shape), queue \(queue.shape)")
        return (b, d, kq)
    }

    /// contrastiveLogits (q → logits) and contrastiveLogitsBackward (dLogits → dq).
    public static func contrastiveLogits(_ op: String, q: Tensor, k: Tensor, queue: Tensor, logits: Tensor) throws
        -> OpCost {
        let (b, d, kq) = try contrastiveGeometry(op, q: q, k: k, queue: queue, logits: logits)
        return OpCost(flops: 2 * Double(b) * Double(d) * Double(kq + 1), bytes: floats(2 * b * d + d * kq + b * (kq + 1)))
    }

    public static func enqueue(keys: Tensor, queue: Tensor, pointer: Int) throws -> OpCost {
        try require(keys.shape.count == 2 && queue.shape.count == 2 && keys.dim(1) == queue.dim(0), "enqueue",
                    "keys \(keys.shape) must be (B, D) and queue \(queue.shape) (D, K)")
        let b = keys.dim(0), d = keys.dim(1), k = queue.dim(1)
        try require(pointer >= 0 && pointer + b <= k, "enqueue",
                    "columns \(pointer) ..< \(pointer + b) outside the queue of \(k)")
        return OpCost(bytes: floats(2 * b * d))
    }
}

extension OpContract {
    /// NNM's mask (B, 1 + K) from similarity matrices of the same shape.
    public static func nearestNeighbourMask(similarities: [Tensor], topK: Int, mask: Tensor) throws -> OpCost {
        try require(mask.shape.count == 2, "nearestNeighbourMask", "mask \(mask.shape) must be (B, 1+K)")
        let b = mask.dim(0), w = mask.dim(1)
        try require(topK >= 0, "nearestNeighbourMask", "topK \(topK) is negative")
        for s in similarities {
            try require(s.count == b * w, "nearestNeighbourMask", "similarity \(s.shape) vs mask \(mask.shape)")
        }
        return OpCost(flops: Double(similarities.count * min(topK, max(w - 1, 0)) * b * w),
                      bytes: floats(b * w * (similarities.count + 1)))
    }
}
