extension OpContract {
    /// poolForward and poolBackward: the activation (C, N·M, plane) and the pooled (N, C).
    public static func pool(_ op: String, activation: Tensor, channels: Int, samples: Int, persons: Int, plane: Int,
                            pooled: Tensor) throws -> OpCost {
        let sizes = [channels, samples, persons, plane]
        try require(sizes.allSatisfy { $0 >= 0 }, op, "negative size in C \(channels), N \(samples), M \(persons), plane \(plane)")
        let n = channels * samples * persons * plane
        try require(activation.count >= n && pooled.count >= samples * channels, op,
                    "activation \(activation.shape) for C \(channels), N \(samples), M \(persons), plane \(plane); "
                        + "pooled \(pooled.shape)")
        return OpCost(flops: Double(n), bytes: floats(n + samples * channels))
    }

    /// (rows, out, in) of a linear layer: weight (out, in), x (rows, in).
    static func linearGeometry(_ op: String, x: Tensor, weight: Tensor) throws -> (rows: Int, out: Int, inputs: Int) {
        try require(weight.shape.count == 2 && weight.dim(1) > 0, op, "weight \(weight.shape) must be (out, in)")
        let out = weight.dim(0), inputs = weight.dim(1)
        try require(x.count % inputs == 0, op, "x \(x.shape) is not rows of \(inputs)")
        return (x.count / inputs, out, inputs)
    }

    public static func linearForward(x: Tensor, weight: Tensor, bias: Tensor, y: Tensor) throws -> OpCost {
        let (b, out, inp) = try linearGeometry("linearForward", x: x, weight: weight)
        try require(bias.count >= out && y.count >= b * out, "linearForward",
                    "x \(x.shape), weight \(weight.shape), bias \(bias.shape), y \(y.shape)")
        return OpCost(flops: 2 * Double(b * out * inp), bytes: floats(b * inp + out * inp + b * out))
    }

    public static func linearBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor?, dWeight: Tensor,
                                      dBias: Tensor) throws -> OpCost {
        let (b, out, inp) = try linearGeometry("linearBackward", x: x, weight: weight)
        try require(dy.count >= b * out && dWeight.count >= out * inp && dBias.count >= out
                        && (dx == nil || dx!.count >= b * inp), "linearBackward",
                    "x \(x.shape), weight \(weight.shape), dy \(dy.shape), dWeight \(dWeight.shape), dBias \(dBias.shape)"
                        + ", dx \(dx.map { "\($0.shape)" } ?? "none")")
        let passes = dx == nil ? 1 : 2
        return OpCost(flops: 2 * Double(b * out * inp * passes),
                      bytes: floats(b * inp + out * inp + b * out + out * inp + (dx == nil ? 0 : b * inp)))
    }

    /// The rows of x (its first dimension) and their width.
    public static func rowsAndWidth(_ x: Tensor) -> (rows: Int, width: Int) {
        let rows = x.shape.isEmpty ? 0 : x.dim(0)
        return (rows, rows == 0 ? 0 : x.count / rows)
    }

    /// l2NormalizeForward (dy nil) and l2NormalizeBackward over the rows of x.
    public static func l2Normalize(_ op: String, x: Tensor, dy: Tensor?, output: Tensor) throws -> OpCost {
        try require(x.shape.count >= 1, op, "x \(x.shape) needs a row dimension")
        let n = x.count
        try require(output.count >= n && (dy == nil || dy!.count >= n), op,
                    "x \(x.shape), dy \(dy.map { "\($0.shape)" } ?? "none"), output \(output.shape)")
        return dy == nil ? OpCost(flops: 3 * Double(n), bytes: floats(2 * n))
                         : OpCost(flops: 8 * Double(n), bytes: floats(3 * n))
    }
}
