/// What an op applies to its channel-major output v as it writes it:
///
///     y[c, p] = act(scale[c]·v[c, p] + shift[c] + residualScale[c]·residual[c, p])
///
/// with act = ReLU or identity, residualScale = 1 when nil and no residual term when
/// `residual` is nil. An inference-mode batch norm is the (scale, shift) pair that
/// `Device.batchNormInferenceAffine` computes, so "conv → BN → (+ residual) → ReLU" of an
/// evaluation forward becomes one pass over the conv output instead of two or three.
public struct ChannelEpilogue {
    /// Per-channel factor (C).
    public var scale: Tensor
    /// Per-channel offset (C).
    public var shift: Tensor
    /// Added after the affine map; the output's shape.
    public var residual: Tensor?
    /// Per-channel factor of the residual (C); nil means 1.
    public var residualScale: Tensor?
    public var relu: Bool

    public init(scale: Tensor, shift: Tensor, residual: Tensor? = nil, residualScale: Tensor? = nil, relu: Bool) {
        self.scale = scale; self.shift = shift; self.residual = residual; self.residualScale = residualScale
        self.relu = relu
    }

    /// Checks `Device.applyEpilogue`'s tensors (x channel-major in `channels` channels, y at least
    /// as large) and returns the elements per channel.
    public func validateApply(x: Tensor, channels: Int, y: Tensor) -> Int {
        precondition(channels > 0 && x.count % channels == 0 && y.count >= x.count,
                     "applyEpilogue: x \(x.shape) with \(channels) channels, y \(y.shape)")
        validate("applyEpilogue", channels: channels, count: x.count)
        return x.count / channels
    }

    /// Checks the tensors against an output of `count` elements in `channels` channels.
    public func validate(_ op: String, channels: Int, count: Int) {
        precondition(scale.count >= channels && shift.count >= channels
                     && (residual.map { $0.count >= count } ?? true)
                     && (residualScale.map { $0.count >= channels } ?? true),
                     "\(op): epilogue scale \(scale.shape), shift \(shift.shape), residual \(residual?.shape ?? []), "
                     + "residual scale \(residualScale?.shape ?? []) for \(channels) channels, \(count) elements")
    }
}

/// Checks the tensors of `Device.batchNormInferenceAffine` (one per channel each) and returns the
/// channel count.
public func batchNormAffineChannels(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                    scale: Tensor, shift: Tensor) -> Int {
    let c = gamma.count
    precondition(beta.count >= c && runningMean.count >= c && runningVar.count >= c && scale.count >= c
                 && shift.count >= c,
                 "batchNormInferenceAffine: gamma \(gamma.shape), beta \(beta.shape), running \(runningMean.shape), scale \(scale.shape)")
    return c
}
