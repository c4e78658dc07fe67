extension OpContract {
    public static func sgdStep(weight: Tensor, grad: Tensor, momentumBuffer: Tensor) throws -> OpCost {
        let n = weight.count
        try require(grad.count >= n && momentumBuffer.count >= n, "sgdStep",
                    "weight \(weight.shape), grad \(grad.shape), momentum buffer \(momentumBuffer.shape)")
        return OpCost(flops: 6 * Double(n), bytes: floats(5 * n))
    }

    public static func momentumUpdate(key: Tensor, query: Tensor) throws -> OpCost {
        let n = key.count
        try require(query.count >= n, "momentumUpdate", "key \(key.shape), query \(query.shape)")
        return OpCost(flops: 3 * Double(n), bytes: floats(3 * n))
    }

    public static func sumOfSquares(x: Tensor, out: Tensor) throws -> OpCost {
        try require(out.count >= 1, "sumOfSquares", "out \(out.shape)")
        return OpCost(flops: 2 * Double(x.count), bytes: floats(x.count))
    }
}
