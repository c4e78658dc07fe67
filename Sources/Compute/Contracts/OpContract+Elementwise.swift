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
    public static func dropout(_ op: String, x: Tensor, p: Float, y: Tensor) throws -> OpCost {
        let n = x.count
        try require(y.count >= n, op, "input \(x.shape), output \(y.shape)")
        try require(p >= 0 && p <= 1, op, "p \(p) outside [0, 1]")
        return OpCost(flops: Double(n), bytes: floats(2 * n))
    }

    /// add, addReLU, multiply: y = f(a, b) over a's elements.
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
