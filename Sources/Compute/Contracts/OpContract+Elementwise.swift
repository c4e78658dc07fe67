extension OpContract {
    public static func reluForward(x: Tensor, y: Tensor) throws -> OpCost {
        let n = x.count
        try require(y.count >= n, "reluForward", "x \(x.shape), y \(y.shape)")
        return OpCost(flops: Double(n), bytes: floats(2 * n))
    }

    public static func reluBackward(y: Tensor, dy: Tensor, dx: Tensor) throws -> OpCost {
        let n = y.count
        try require(dy.count >= n && dx.count >= n, "reluBackward", "y \(y.shape), dy \(dy.shape), dx \(dx.shape)")
        return OpCost(flops: Double(n), bytes: floats(3 * n))
    }

    /// `op` is dropoutForward or dropoutBackward: input x (or dy), output y (or dx).
    /// With a `slice`, x holds whole (outer, samples, inner) rows, the part lies inside the whole
    /// batch, and the whole batch's element indices fit Philox's 32-bit block counter.
    public static func dropout(_ op: String, x: Tensor, p: Float, y: Tensor, slice: DropoutSampleSlice? = nil) throws
        -> OpCost {
        let n = x.count
        try require(y.count >= n, op, "input \(x.shape), output \(y.shape)")
        try require(p >= 0 && p <= 1, op, "p \(p) outside [0, 1]")
        if let s = slice {
            try require(s.samples > 0 && s.inner > 0 && s.offset >= 0 && s.offset + s.samples <= s.globalSamples, op,
                        "sample slice \(s)")
            try require(n % (s.samples * s.inner) == 0, op, "input \(x.shape) is not (outer, \(s.samples), \(s.inner))")
            let global = n / (s.samples * s.inner) * s.globalSamples * s.inner
            try require(global / 4 < Int(UInt32.max), op, "the whole batch's \(global) elements overflow the Philox counter")
        }
        return OpCost(flops: Double(n), bytes: floats(2 * n))
    }

    /// add, addReLU, multiply: y = f(a, b) over a's elements.
    /// `dropoutResidualReLU`: x, the residual and y of one size; y must not alias the residual.
    public static func dropoutResidualReLU(x: Tensor, p: Float, slice: DropoutSampleSlice?, residual: Tensor?,
                                           y: Tensor) throws -> OpCost {
        let n = x.count
        _ = try dropout("dropoutResidualReLU", x: x, p: p, y: y, slice: slice)
        if let r = residual {
            try require(r.count >= n, "dropoutResidualReLU", "input \(x.shape), residual \(r.shape)")
            try require(r.buffer !== y.buffer, "dropoutResidualReLU", "the output aliases the residual")
        }
        return OpCost(flops: Double(n) * 3, bytes: floats((residual == nil ? 2 : 3) * n))
    }

    /// `reluDropoutBackward`: y, dy, masked and dx of one size; dx must not alias masked.
    public static func reluDropoutBackward(y: Tensor, dy: Tensor, p: Float, slice: DropoutSampleSlice?, masked: Tensor,
                                           dx: Tensor) throws -> OpCost {
        let n = y.count
        _ = try dropout("reluDropoutBackward", x: y, p: p, y: dx, slice: slice)
        try require(dy.count >= n && masked.count >= n, "reluDropoutBackward",
                    "y \(y.shape), dy \(dy.shape), masked \(masked.shape)")
        try require(masked.buffer !== dx.buffer, "reluDropoutBackward", "dx aliases masked")
        return OpCost(flops: Double(n) * 2, bytes: floats(4 * n))
    }

    public static func binary(_ op: String, a: Tensor, b: Tensor, y: Tensor) throws -> OpCost {
        let n = a.count
        try require(b.count >= n && y.count >= n, op, "a \(a.shape), b \(b.shape), y \(y.shape)")
        return OpCost(flops: Double(n) * (op == "addReLU" ? 2 : 1), bytes: floats(3 * n))
    }

    public static func axpby(x: Tensor, y: Tensor) throws -> OpCost {
        let n = x.count
        try require(y.count >= n, "axpby", "x \(x.shape), y \(y.shape)")
        return OpCost(flops: 3 * Double(n), bytes: floats(3 * n))
    }

    public static func permute(x: Tensor, shape: [Int], perm: [Int], y: Tensor) throws -> OpCost {
        let rank = shape.count
        try require(rank >= 1 && rank <= 6 && perm.count == rank && Set(perm) == Set(0 ..< rank) && shape.allSatisfy { $0 >= 0 },
                    "permute", "perm \(perm) does not reorder shape \(shape) (1 to 6 dims)")
        let n = shape.reduce(1, *)
        try require(x.count >= n && y.count >= n, "permute", "x \(x.shape), y \(y.shape) for shape \(shape)")
        return OpCost(bytes: floats(2 * n))
    }
}
