extension OpContract {
    /// Elements per channel of a batch norm over x with `channels` channels.
    static func batchNormPlane(_ op: String, x: Tensor, channels c: Int) throws -> Int {
        try require(c > 0 && x.count % c == 0, op, "x \(x.shape) does not split into \(c) channels")
        return x.count / c
    }

    public static func batchNormForward(x: Tensor, channels c: Int, training: Bool, gamma: Tensor, beta: Tensor,
                                        runningMean: Tensor, runningVar: Tensor, savedMean: Tensor,
                                        savedInvStd: Tensor, y: Tensor) throws -> OpCost {
        let p = try batchNormPlane("batchNormForward", x: x, channels: c)
        let perChannel = [gamma, beta, runningMean, runningVar, savedMean, savedInvStd]
        try require(y.count >= x.count && perChannel.allSatisfy { $0.count >= c }, "batchNormForward",
                    "x \(x.shape) with \(c) channels, y \(y.shape), per-channel \(perChannel.map(\.shape))")
        // Training reads x twice (statistics, then normalisation).
        return OpCost(flops: Double(c * p) * (training ? 7 : 4), bytes: floats(c * p * (training ? 3 : 2)))
    }

    public static func batchNormBackward(x: Tensor, channels c: Int, gamma: Tensor, savedMean: Tensor,
                                         savedInvStd: Tensor, dy: Tensor, dx: Tensor, dGamma: Tensor,
                                         dBeta: Tensor) throws -> OpCost {
        let p = try batchNormPlane("batchNormBackward", x: x, channels: c)
        let perChannel = [gamma, savedMean, savedInvStd, dGamma, dBeta]
        try require(dy.count >= x.count && dx.count >= x.count && perChannel.allSatisfy { $0.count >= c },
                    "batchNormBackward", "x \(x.shape) with \(c) channels, dy \(dy.shape), dx \(dx.shape), "
                        + "per-channel \(perChannel.map(\.shape))")
        // x and dy for the two sums, then x, dy and dx for the gradient.
        return OpCost(flops: Double(c * p) * 10, bytes: floats(5 * c * p))
    }
}
