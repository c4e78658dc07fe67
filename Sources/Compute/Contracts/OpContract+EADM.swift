extension OpContract {
    /// EADM over an activation of `shape`: x, scale and y each hold it; scale may not alias x (it is
    /// written while x is still read); `rescales`, when given, holds 2 elements.
    public static func eadmForward(x: Tensor, shape: ActivationShape, noOp: Bool, scale: Tensor, y: Tensor,
                                   rescales: Tensor? = nil) throws -> OpCost {
        let n = shape.count
        try require([shape.channels, shape.batch, shape.frames, shape.joints].allSatisfy { $0 >= 0 }, "eadmForward",
                    "negative size in \(shape)")
        try require(x.count >= n && scale.count >= n && y.count >= n, "eadmForward",
                    "x \(x.shape), scale \(scale.shape), y \(y.shape) for \(shape)")
        try require(scale.buffer !== x.buffer, "eadmForward", "scale must not alias x")
        try require((rescales?.count ?? 2) >= 2, "eadmForward", "rescales \(rescales?.shape ?? []) needs 2 elements")
        // Statistics and attention read x twice; scale and y are written once.
        return noOp ? OpCost(bytes: floats(3 * n)) : OpCost(flops: 40 * Double(n), bytes: floats(4 * n))
    }
}
