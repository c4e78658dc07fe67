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

extension OpContract {
    /// An inference batch norm as scale and shift: one value per channel in each tensor.
    public static func batchNormInferenceAffine(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                                scale: Tensor, shift: Tensor) throws -> OpCost {
        let c = gamma.count
        try require([beta, runningMean, runningVar, scale, shift].allSatisfy { $0.count >= c }, "batchNormInferenceAffine",
                    "gamma \(gamma.shape), beta \(beta.shape), running \(runningMean.shape)/\(runningVar.shape), "
                        + "scale \(scale.shape), shift \(shift.shape)")
        return OpCost(flops: 4 * Double(c), bytes: floats(6 * c))
    }

    /// y = epilogue(x) over a channel-major (C, P) tensor.
    public static func applyEpilogue(_ epilogue: ChannelEpilogue, x: Tensor, channels: Int, y: Tensor) throws -> OpCost {
        try require(channels > 0 && x.count % channels == 0 && y.count >= x.count, "applyEpilogue",
                    "x \(x.shape) with \(channels) channels, y \(y.shape)")
        try epilogueFits("applyEpilogue", epilogue, channels: channels, count: x.count)
        let n = x.count
        return OpCost(flops: 4 * Double(n), bytes: floats(n * (epilogue.residual == nil ? 2 : 3)))
    }
}
