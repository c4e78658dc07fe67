import Compute

/// Global L2 gradient-norm clipping (`torch.nn.utils.clip_grad_norm_`, norm type 2):
/// total = sqrt(Σ_p ‖g_p‖²); when total > maxNorm every gradient is scaled by
/// maxNorm / (total + 1e-6). Returns the total norm before clipping.
///
/// The per-parameter sums of squares are gathered on the device and read back with one download.
public final class GradientClipper {
    public let parameters: [Parameter]
    public let maxNorm: Float
    private var partials: [Tensor] = []
    private var gathered: Tensor?

    public init(parameters: [Parameter], maxNorm: Float = 2.0) {
        self.parameters = parameters
        self.maxNorm = maxNorm
    }

    /// The global gradient norm of the parameters that currently hold a gradient.
    public func norm() throws -> Float {
        let active = parameters.filter { $0.trainable && $0.hasGradient }
        guard let device = active.first?.device else { return 0 }
        while partials.count < active.count { partials.append(try device.makeTensor([1])) }
        if gathered == nil || gathered!.count < active.count {
            gathered = try device.makeTensor([max(active.count, 1)])
        }
        for (i, p) in active.enumerated() {
            device.sumOfSquares(p.gradient, out: partials[i])
            device.copy(partials[i], srcOffset: 0, to: gathered!, dstOffset: i, count: 1)
        }
        let values = device.read(gathered!)
        var total = 0.0
        for i in 0..<active.count { total += Double(values[i]) }
        return Float(total.squareRoot())
    }

    /// Clips in place; returns the norm before clipping.
    @discardableResult
    public func clip() throws -> Float {
        let total = try norm()
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 {
            for p in parameters where p.trainable && p.hasGradient {
                p.device.axpby(alpha: coefficient, x: p.gradient, beta: 0, y: p.gradient)
            }
        }
        return total
    }
}

/// MoCo key-encoder update over parameters only (BN running statistics are not touched):
/// θ_k ← m·θ_k + (1 − m)·θ_q, pairing parameters by position and checking names and shapes.
public func momentumUpdate(key: [Parameter], query: [Parameter], momentum: Float) throws {
    guard key.count == query.count else {
        throw NNError.shapeMismatch(op: "momentumUpdate", detail: "\(key.count) key vs \(query.count) query parameters")
    }
    for (k, q) in zip(key, query) {
        guard k.shape == q.shape, k.name == q.name else {
            throw NNError.shapeMismatch(op: "momentumUpdate", detail: "\(k.name) \(k.shape) vs \(q.name) \(q.shape)")
        }
        k.device.momentumUpdate(key: k.value, query: q.value, momentum: momentum)
    }
}
