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
}
