import Compute

/// Stochastic gradient descent with PyTorch semantics (`torch.optim.SGD`, no dampening):
/// d = g + wd·w; buf = m·buf + d (buf = d on a parameter's first step); w -= lr·buf, or with
/// `nesterov` (the supervised ST-GCN recipe) w -= lr·(d + m·buf).
///
/// Weight decay applies to every parameter it is given (the reference decays biases, BN affine
/// parameters and edge importance alike). Parameters that are frozen or received no gradient
/// since the last `zeroGradient()` are skipped, as PyTorch skips parameters whose grad is None.
public final class SGD {
    public let parameters: [Parameter]
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Number of `step` calls so far.
    public private(set) var steps = 0

    public init(parameters: [Parameter], momentum: Float = 0.9, weightDecay: Float = 1e-4, nesterov: Bool = false) {
        self.parameters = parameters
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// One update with learning rate `learningRate`.
    public func step(learningRate: Float) throws {
        for p in parameters where p.trainable && p.hasGradient {
            let first = p.momentumBuffer == nil
            if first { p.momentumBuffer = try p.device.makeTensor(p.shape) }
            p.device.sgdStep(weight: p.value, grad: p.gradient, momentumBuffer: p.momentumBuffer!,
                             learningRate: learningRate, momentum: momentum, weightDecay: weightDecay,
                             firstStep: first, nesterov: nesterov)
        }
        steps += 1
    }

    /// Drops the momentum buffers (the next step starts fresh, as a new PyTorch optimiser would).
    public func resetMomentum() {
        for p in parameters { p.momentumBuffer = nil }
    }
}

/// Step learning-rate schedule of the reference processors: at the start of epoch e (1-based),
/// lr = base · 0.1^(number of milestones m with m < e).
///
/// Pre-training: base 0.1, milestones [250] → 0.1 for epochs 1–250, 0.01 for 251–300.
/// Linear evaluation: base 3.0, milestones [80] → 3.0 for 1–80, 0.3 for 81–100.
public struct StepLRSchedule: Sendable, Equatable {
    public var baseLearningRate: Float
    public var milestones: [Int]
    public var factor: Float
    public init(baseLearningRate: Float, milestones: [Int], factor: Float = 0.1) {
        self.baseLearningRate = baseLearningRate
        self.milestones = milestones
        self.factor = factor
    }

    /// Learning rate for a 1-based epoch.
    public func learningRate(epoch: Int) -> Float {
        let passed = milestones.filter { $0 < epoch }.count
        var lr = Double(baseLearningRate)
        for _ in 0..<passed { lr *= Double(factor) }
        return Float(lr)
    }
}
