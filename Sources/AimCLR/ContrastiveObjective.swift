import Compute

/// Which positive set the normal view's logits are trained with.
public enum PositiveMining: Sendable {
    /// Plain InfoNCE: the key is the only positive (epochs ≤ mining epoch).
    case infoNCE
    /// NNM: the key plus the top-k queue neighbours of q, q_e and q_ed (epochs > mining epoch).
    case nearestNeighbours(topK: Int)
}

/// Loss values of one step (host copies, for logging).
public struct LossTerms: Sendable, Codable, Equatable {
    /// InfoNCE or NNM term on the normal view.
    public var contrastive: Float
    /// H(p, p_e): extreme view against the normal view's distribution.
    public var d3mExtreme: Float
    /// H(p, p_ed): dropped extreme view against the normal view's distribution.
    public var d3mDropped: Float
    public var total: Float { contrastive + 0.5 * (d3mExtreme + d3mDropped) }
}

/// AimCLR's losses on L2-normalised embeddings (spec §4.4):
///   L = L_info|L_NNM(ℓ) + ½·H(softmax(ℓ), softmax(ℓ_e)) + ½·H(softmax(ℓ), softmax(ℓ_ed)),
/// ℓ = [q·k, q·Q]/τ (likewise ℓ_e, ℓ_ed), with no gradient through the target p, k or Q.
/// All work stays on the device; gradients come back with respect to q, q_e and q_ed.
public final class ContrastiveObjective {
    public let device: Device
    public let batch: Int
    public let queueSize: Int
    public let temperature: Float

    // Scratch reused every step.
    let logits: Tensor, logitsExtreme: Tensor, logitsDropped: Tensor
    let dLogits: Tensor, dLogitsExtreme: Tensor, dLogitsDropped: Tensor
    let positives: Tensor
    let zeroLabels: Tensor
    let lossContrastive: Tensor, lossExtreme: Tensor, lossDropped: Tensor

    public init(device: Device, batch: Int, queueSize: Int, temperature: Float) throws {
        self.device = device
        self.batch = batch
        self.queueSize = queueSize
        self.temperature = temperature
        let shape = [batch, queueSize + 1]
        logits = try device.makeTensor(shape)
        logitsExtreme = try device.makeTensor(shape)
        logitsDropped = try device.makeTensor(shape)
        dLogits = try device.makeTensor(shape)
        dLogitsExtreme = try device.makeTensor(shape)
        dLogitsDropped = try device.makeTensor(shape)
        positives = try device.makeTensor(shape)
        zeroLabels = try device.tensor(filledWith: 0, shape: [batch])
        lossContrastive = try device.makeTensor([1])
        lossExtreme = try device.makeTensor([1])
        lossDropped = try device.makeTensor([1])
    }

    /// Full AimCLR objective. `dq`, `dqExtreme`, `dqDropped` receive ∂L/∂(normalised embedding).
    /// Uses the queue as it is before this step's enqueue.
    /// `frozenTarget` replaces the normal view's logits as the D3M target (gradient checks hold it
    /// fixed, since the target carries no gradient by definition).
    public func aimclr(q: Tensor, qExtreme: Tensor, qDropped: Tensor, k: Tensor, queue: MoCoQueue,
                       mining: PositiveMining, dq: Tensor, dqExtreme: Tensor, dqDropped: Tensor,
                       frozenTarget: Tensor? = nil) {
        let d = device
        d.contrastiveLogits(q: q, k: k, queue: queue.keys, temperature: temperature, logits: logits)
        d.contrastiveLogits(q: qExtreme, k: k, queue: queue.keys, temperature: temperature, logits: logitsExtreme)
        d.contrastiveLogits(q: qDropped, k: k, queue: queue.keys, temperature: temperature, logits: logitsDropped)
        normalViewLoss(mining: mining, similarities: [logits, logitsExtreme, logitsDropped])
        let target = frozenTarget ?? logits
        d.softTargetCrossEntropy(logits: logitsExtreme, targetLogits: target, scale: 0.5,
                                 loss: lossExtreme, dLogits: dLogitsExtreme)
        d.softTargetCrossEntropy(logits: logitsDropped, targetLogits: target, scale: 0.5,
                                 loss: lossDropped, dLogits: dLogitsDropped)
        d.contrastiveLogitsBackward(k: k, queue: queue.keys, temperature: temperature, dLogits: dLogits, dq: dq)
        d.contrastiveLogitsBackward(k: k, queue: queue.keys, temperature: temperature, dLogits: dLogitsExtreme, dq: dqExtreme)
        d.contrastiveLogitsBackward(k: k, queue: queue.keys, temperature: temperature, dLogits: dLogitsDropped, dq: dqDropped)
    }

    /// SkeletonCLR baseline: InfoNCE (or NNM) on the normal views only.
    public func skeletonclr(q: Tensor, k: Tensor, queue: MoCoQueue, mining: PositiveMining, dq: Tensor) {
        device.contrastiveLogits(q: q, k: k, queue: queue.keys, temperature: temperature, logits: logits)
        normalViewLoss(mining: mining, similarities: [logits])
        device.fill(lossExtreme, value: 0)
        device.fill(lossDropped, value: 0)
        device.contrastiveLogitsBackward(k: k, queue: queue.keys, temperature: temperature, dLogits: dLogits, dq: dq)
    }

    private func normalViewLoss(mining: PositiveMining, similarities: [Tensor]) {
        switch mining {
        case .infoNCE:
            device.softmaxCrossEntropy(logits: logits, labels: zeroLabels, scale: 1, loss: lossContrastive, dLogits: dLogits)
        case .nearestNeighbours(let topK):
            // The top-k of ℓ/τ equals the top-k of the raw cosine (τ > 0), as the reference ranks.
            device.nearestNeighbourMask(similarities: similarities, topK: topK, mask: positives)
            device.maskedCrossEntropy(logits: logits, positives: positives, scale: 1, loss: lossContrastive, dLogits: dLogits)
        }
    }

    /// The loss values of the last call (a device read: synchronises).
    public func readLosses() -> LossTerms {
        LossTerms(contrastive: device.scalar(lossContrastive),
                  d3mExtreme: device.scalar(lossExtreme),
                  d3mDropped: device.scalar(lossDropped))
    }

    /// The normal view's logits of the last call (for tests and diagnostics).
    public var lastLogits: Tensor { logits }
    public var lastPositives: Tensor { positives }
}
