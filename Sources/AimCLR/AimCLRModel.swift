import Compute
import NN

/// Host-side views of one pretraining batch, each (B, C, T, V, M) float32.
public struct PretrainViews {
    public var extreme: [Float]
    public var query: [Float]
    public var key: [Float]
    public init(extreme: [Float], query: [Float], key: [Float]) {
        self.extreme = extreme; self.query = query; self.key = key
    }
}

/// AimCLR (or the SkeletonCLR baseline): query encoder, momentum key encoder, queue and
/// objective, with every activation and gradient buffer allocated once for a batch geometry.
///
/// One `step` is spec §4.3: f_q on the query view, f_q on the extreme view with EADM (one
/// backbone pass, two head passes), the momentum update, f_k on the key view (train mode), the
/// losses against the queue as it was before this step, backward, SGD, enqueue.
public final class AimCLRModel {
    public let config: PretrainConfig
    public let device: Device
    public let encoderQ: STGCN
    public let encoderK: STGCN
    public let queue: MoCoQueue
    public let optimizer: SGD
    let objective: ContrastiveObjective
    let geometry: InputGeometry

    // Per-view contexts (saved activations) and the dropped-extreme head pass.
    let contextQuery: STGCN.Context
    let contextExtreme: STGCN.Context
    let contextKey: STGCN.Context
    let droppedHead: Head.Activations
    // Normalised embeddings and their gradients.
    let q: Tensor, qExtreme: Tensor, qDropped: Tensor, k: Tensor
    let dq: Tensor, dqExtreme: Tensor, dqDropped: Tensor
    let dProjection: Tensor, dProjectionExtreme: Tensor, dProjectionDropped: Tensor
    // EADM: kept-element scale, dropped map and the summed feature-map gradient.
    let eadmScale: Tensor, droppedFeatures: Tensor, dFeatures: Tensor

    /// When set, D3M uses these logits as its target instead of this step's (gradient checks only).
    var frozenD3MTarget: Tensor?

    /// Global iteration counter (keys dropout masks; restored on resume).
    public var iteration: Int = 0

    /// - Parameters:
    ///   - adjacency: the (3, V, V) partitioned graph of the layout.
    ///   - joints: V. `frames` and `persons`: T and M of the input.
    public init(config: PretrainConfig, device: Device, adjacency: [Float], joints: Int,
                frames: Int, persons: Int) throws {
        try config.validate()
        self.config = config
        self.device = device
        var encoderConfig = STGCNConfig(inChannels: config.inChannels, hiddenChannels: config.hiddenChannels,
                                        hiddenDim: config.hiddenDim, dropout: config.dropout,
                                        edgeImportance: config.edgeImportance, adjacency: adjacency, joints: joints,
                                        head: .projection(hidden: config.hiddenDim, out: config.featureDim))
        encoderConfig.recomputeTemporalColumns = !config.keepsTemporalColumns(on: device)
        if !config.frameMajorBlocks { encoderConfig.frameMajorMinimumChannels = nil }
        // The reference re-initialises the whole model after copying q into k, so the key
        // encoder gets its own random draw (spec §8.2).
        encoderQ = try STGCN(config: encoderConfig, device: device, seed: config.seed &+ 1)
        encoderK = try STGCN(config: encoderConfig, device: device, seed: config.seed &+ 2)
        encoderK.setTrainable(false)
        queue = try MoCoQueue(device: device, dimension: config.featureDim, size: config.queueSize,
                              batch: config.batchSize, seed: config.seed &+ 3)
        optimizer = SGD(parameters: encoderQ.parameters, momentum: 0.9, weightDecay: config.weightDecay)
        objective = try ContrastiveObjective(device: device, batch: config.batchSize, queueSize: config.queueSize,
                                             temperature: config.temperature)
        geometry = InputGeometry(samples: config.batchSize, channels: config.inChannels, frames: frames,
                                 joints: joints, persons: persons)
        contextQuery = try encoderQ.makeContext(geometry)
        contextExtreme = try encoderQ.makeContext(geometry)
        contextKey = try encoderK.makeContext(geometry, requiresGrad: false)
        droppedHead = try encoderQ.makeHeadActivations(for: contextExtreme)
        let emb = [config.batchSize, config.featureDim]
        q = try device.makeTensor(emb); qExtreme = try device.makeTensor(emb)
        qDropped = try device.makeTensor(emb); k = try device.makeTensor(emb)
        dq = try device.makeTensor(emb); dqExtreme = try device.makeTensor(emb); dqDropped = try device.makeTensor(emb)
        dProjection = try device.makeTensor(emb); dProjectionExtreme = try device.makeTensor(emb)
        dProjectionDropped = try device.makeTensor(emb)
        let fshape = contextExtreme.featureShape.dims
        eadmScale = try device.makeTensor(fshape)
        droppedFeatures = try device.makeTensor(fshape)
        dFeatures = try device.makeTensor(fshape)
    }

    /// Which positive set an epoch uses (NNM after the mining epoch; epochs are 1-based).
    public func mining(epoch: Int) -> PositiveMining {
        epoch <= config.miningEpoch ? .infoNCE : .nearestNeighbours(topK: config.topK)
    }

    private func dropoutKeys(encoder: UInt32, view: UInt32) -> DropoutKeys {
        DropoutKeys(seed: config.seed, encoder: encoder, site: view, step: UInt32(truncatingIfNeeded: iteration))
    }

    /// One training iteration. Returns the loss terms (read back from the device).
    @discardableResult
    public func step(_ views: PretrainViews, epoch: Int) throws -> LossTerms {
        let losses = try forwardBackward(views, epoch: epoch, momentumUpdate: true)
        try optimizer.step(learningRate: config.schedule.learningRate(epoch: epoch))
        queue.enqueue(k)
        // An op that broke its contract was skipped; the step is then invalid (see OpContract).
        try device.checkErrors()
        iteration += 1
        return losses
    }

    /// Queue warm-up: runs the key encoder (train mode, no parameter change) on a key view and
    /// enqueues the keys. Repeated K/B times before the first step, the queue holds real keys.
    public func enqueueKeys(of keyView: [Float]) throws {
        try computeKeys(keyView, dropoutSite: 3)
        queue.enqueue(k)
    }

    /// k = normalize(f_k(view)) with f_k in train mode (batch BN statistics, dropout on).
    private func computeKeys(_ view: [Float], dropoutSite: UInt32) throws {
        view.withUnsafeBufferPointer { device.upload($0, to: contextKey.input) }
        try encoderK.forward(contextKey.input, context: contextKey, training: true,
                             dropout: dropoutKeys(encoder: 1, view: dropoutSite))
        device.l2NormalizeForward(x: contextKey.output, epsilon: 1e-12, y: k)
    }

    /// Everything of a step but the SGD update and the enqueue: forwards, momentum update of the
    /// key encoder (when asked), losses, and the query encoder's gradients (left in its parameters).
    @discardableResult
    public func forwardBackward(_ views: PretrainViews, epoch: Int, momentumUpdate updateKeys: Bool) throws -> LossTerms {
        let d = device
        views.query.withUnsafeBufferPointer { d.upload($0, to: contextQuery.input) }
        let aimclr = config.method == .aimclr
        if aimclr { views.extreme.withUnsafeBufferPointer { d.upload($0, to: contextExtreme.input) } }

        encoderQ.zeroGradients()
        // 1. Query view.
        try encoderQ.forward(contextQuery.input, context: contextQuery, training: true,
                             dropout: dropoutKeys(encoder: 0, view: 0))
        d.l2NormalizeForward(x: contextQuery.output, epsilon: 1e-12, y: q)
        // 2. Extreme view: one backbone pass, head on F and on EADM(F).
        if aimclr {
            let features = try encoderQ.forwardFeatures(contextExtreme.input, context: contextExtreme, training: true,
                                                        dropout: dropoutKeys(encoder: 0, view: 1))
            encoderQ.forwardHead(features: features, head: contextExtreme.head)
            d.eadmForward(x: features, shape: contextExtreme.featureShape, threshold: 0.7, lambda: 1e-4,
                          noOp: config.eadmNoOp, scale: eadmScale, y: droppedFeatures)
            encoderQ.forwardHead(features: droppedFeatures, head: droppedHead)
            d.l2NormalizeForward(x: contextExtreme.output, epsilon: 1e-12, y: qExtreme)
            d.l2NormalizeForward(x: droppedHead.output, epsilon: 1e-12, y: qDropped)
        }
        // 3. Momentum update, then the key view in train mode (batch BN statistics, dropout on).
        if updateKeys {
            try momentumUpdate(key: encoderK.parameters, query: encoderQ.parameters, momentum: config.momentum)
        }
        try computeKeys(views.key, dropoutSite: 2)
        // 4. Losses against the queue before this step's keys.
        let mine = mining(epoch: epoch)
        if aimclr {
            objective.aimclr(q: q, qExtreme: qExtreme, qDropped: qDropped, k: k, queue: queue, mining: mine,
                             dq: dq, dqExtreme: dqExtreme, dqDropped: dqDropped, frozenTarget: frozenD3MTarget)
        } else {
            objective.skeletonclr(q: q, k: k, queue: queue, mining: mine, dq: dq)
        }
        let losses = objective.readLosses()
        try LossGuard.check(losses, iteration: iteration, epoch: epoch)
        // 5. Backward: normal view, then the extreme view's two head passes into one backbone pass.
        d.l2NormalizeBackward(x: contextQuery.output, epsilon: 1e-12, dy: dq, dx: dProjection)
        try encoderQ.backward(context: contextQuery, dOutput: dProjection)
        if aimclr {
            d.l2NormalizeBackward(x: contextExtreme.output, epsilon: 1e-12, dy: dqExtreme, dx: dProjectionExtreme)
            d.l2NormalizeBackward(x: droppedHead.output, epsilon: 1e-12, dy: dqDropped, dx: dProjectionDropped)
            let dPlain = try encoderQ.backwardHead(contextExtreme.head, dOutput: dProjectionExtreme)
            let dDropped = try encoderQ.backwardHead(droppedHead, dOutput: dProjectionDropped)
            // EADM's masks and rescales are constants: its gradient is the same scale.
            d.multiply(dDropped, eadmScale, y: dFeatures)
            d.add(dFeatures, dPlain, y: dFeatures)
            try encoderQ.backwardFeatures(context: contextExtreme, dFeatures: dFeatures)
        }
        return losses
    }
}

/// Stops a run on a non-finite loss, naming the step and the term.
public enum LossGuard {
    public struct NonFiniteLoss: Error, CustomStringConvertible {
        public var term: String
        public var value: Float
        public var iteration: Int
        public var epoch: Int
        public var description: String {
            "non-finite loss: \(term) = \(value) at iteration \(iteration) (epoch \(epoch)); "
                + "the run stops here and the last checkpoint is kept intact"
        }
    }

    public static func check(_ l: LossTerms, iteration: Int, epoch: Int) throws {
        for (name, v) in [("contrastive (InfoNCE/NNM)", l.contrastive), ("D3M extreme", l.d3mExtreme),
                          ("D3M dropped-extreme", l.d3mDropped)] where !v.isFinite {
            throw NonFiniteLoss(term: name, value: v, iteration: iteration, epoch: epoch)
        }
    }
}
