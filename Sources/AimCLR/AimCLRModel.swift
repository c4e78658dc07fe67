import Compute
import DataParallel
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
    /// Sub-batch key contexts for shuffled key BN (`keyShuffleSplits` > 1), with their embeddings.
    let keySplits: ShuffledKeyBatches?
    let contextKeySplit: STGCN.Context?
    let kSplit: Tensor?
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
    /// Iterations per epoch, for the lr warm-up (`PretrainConfig.lrWarmupEpochs`); the trainer sets it.
    public var iterationsPerEpoch = 1

    /// The learning rate of the next step in `epoch` (the step schedule, scaled during the warm-up).
    public func learningRate(epoch: Int) -> Float {
        config.learningRate(epoch: epoch, iteration: iteration, iterationsPerEpoch: iterationsPerEpoch)
    }

    /// The ranks this model's global batch is split over (one process: `SingleProcess`).
    public let collective: Collective
    /// Samples of the global batch this rank computes: batch_size / ranks.
    public let localBatch: Int
    /// Data parallelism only: every rank's keys in rank order (the global batch's, for the
    /// enqueue), EADM's two rescales, and the gradient all-reduce.
    let gatheredKeys: Tensor?
    let eadmRescales: Tensor?
    let gradientSum: StagedTensorSum?

    public enum DataParallelError: Error, CustomStringConvertible {
        case batchNotDivisible(batch: Int, ranks: Int)
        public var description: String {
            switch self {
            case let .batchNotDivisible(b, n):
                return "batch_size \(b) (the global batch) does not split over \(n) ranks; pick a batch size divisible by the number of ranks"
            }
        }
    }

    /// - Parameters:
    ///   - adjacency: the (3, V, V) partitioned graph of the layout.
    ///   - joints: V. `frames` and `persons`: T and M of the input.
    ///   - collective: the ranks of a data-parallel job; `batch_size` stays the global batch and
    ///     each rank computes batch_size / ranks samples of it, with synchronised batch norm,
    ///     whole-batch EADM counts, gathered keys and averaged gradients (see README).
    public init(config: PretrainConfig, device: Device, adjacency: [Float], joints: Int,
                frames: Int, persons: Int, collective: Collective = SingleProcess()) throws {
        try config.validate()
        guard config.batchSize % collective.size == 0 else {
            throw DataParallelError.batchNotDivisible(batch: config.batchSize, ranks: collective.size)
        }
        self.config = config
        self.device = device
        self.collective = collective
        let local = config.batchSize / collective.size
        localBatch = local
        var encoderConfig = STGCNConfig(inChannels: config.inChannels, hiddenChannels: config.hiddenChannels,
                                        hiddenDim: config.hiddenDim, dropout: config.dropout,
                                        edgeImportance: config.edgeImportance, adjacency: adjacency, joints: joints,
                                        head: .projection(hidden: config.hiddenDim, out: config.featureDim))
        encoderConfig.recomputeTemporalColumns = !config.keepsTemporalColumns(on: device)
        if !config.frameMajorBlocks { encoderConfig.frameMajorMinimumChannels = nil }
        encoderConfig.projectionBatchNorm = config.projectionBatchNorm
        // The reference re-initialises the whole model after copying q into k, so the key
        // encoder gets its own random draw (spec §8.2).
        encoderQ = try STGCN(config: encoderConfig, device: device, seed: config.seed &+ 1)
        encoderK = try STGCN(config: encoderConfig, device: device, seed: config.seed &+ 2)
        encoderK.setTrainable(false)
        queue = try MoCoQueue(device: device, dimension: config.featureDim, size: config.queueSize,
                              batch: config.batchSize, seed: config.seed &+ 3)
        optimizer = SGD(parameters: encoderQ.parameters, momentum: 0.9, weightDecay: config.weightDecay)
        objective = try ContrastiveObjective(device: device, batch: local, queueSize: config.queueSize,
                                             temperature: config.temperature)
        geometry = InputGeometry(samples: local, channels: config.inChannels, frames: frames,
                                 joints: joints, persons: persons)
        contextQuery = try encoderQ.makeContext(geometry)
        contextExtreme = try encoderQ.makeContext(geometry)
        contextKey = try encoderK.makeContext(geometry, requiresGrad: false)
        if config.keyShuffleSplits > 1 {
            // Across ranks the synchronised key BN already mixes statistics; the two are not combined.
            guard collective.size == 1 else {
                throw PretrainConfig.ConfigError.invalid(key: "shuffle_bn_splits", detail: "runs on one rank only "
                    + "(this job has \(collective.size)); leave it at 1 under mpirun")
            }
            guard local % config.keyShuffleSplits == 0, local / config.keyShuffleSplits >= 2 else {
                throw PretrainConfig.ConfigError.invalid(key: "shuffle_bn_splits", detail: "must divide each rank's batch "
                    + "(\(local)) into sub-batches of at least 2 samples (got \(config.keyShuffleSplits))")
            }
            let splits = ShuffledKeyBatches(splits: config.keyShuffleSplits, batch: local, seed: config.seed)
            var sub = geometry
            sub.samples = splits.subBatch
            keySplits = splits
            contextKeySplit = try encoderK.makeContext(sub, requiresGrad: false)
            kSplit = try device.makeTensor([splits.subBatch, config.featureDim])
        } else {
            keySplits = nil; contextKeySplit = nil; kSplit = nil
        }
        droppedHead = try encoderQ.makeHeadActivations(for: contextExtreme)
        let emb = [local, config.featureDim]
        q = try device.makeTensor(emb); qExtreme = try device.makeTensor(emb)
        qDropped = try device.makeTensor(emb); k = try device.makeTensor(emb)
        dq = try device.makeTensor(emb); dqExtreme = try device.makeTensor(emb); dqDropped = try device.makeTensor(emb)
        dProjection = try device.makeTensor(emb); dProjectionExtreme = try device.makeTensor(emb)
        dProjectionDropped = try device.makeTensor(emb)
        let fshape = contextExtreme.featureShape.dims
        eadmScale = try device.makeTensor(fshape)
        droppedFeatures = try device.makeTensor(fshape)
        dFeatures = try device.makeTensor(fshape)
        if collective.size > 1 {
            try encoderQ.synchronizeBatchNorm(over: collective)
            try encoderK.synchronizeBatchNorm(over: collective)
            for e in [encoderQ, encoderK] { e.batchPart = (collective.rank * local, config.batchSize) }
            gatheredKeys = try device.makeTensor([config.batchSize, config.featureDim])
            eadmRescales = try device.makeTensor([2])
            gradientSum = StagedTensorSum(collective: collective)
        } else {
            gatheredKeys = nil; eadmRescales = nil; gradientSum = nil
        }
    }

    /// Which positive set an epoch uses (NNM after the mining epoch; epochs are 1-based).
    public func mining(epoch: Int) -> PositiveMining {
        epoch <= config.miningEpoch ? .infoNCE : .nearestNeighbours(topK: config.topK)
    }

    /// Every rank uses the same keys; the encoders' `batchPart` restricts the whole batch's
    /// masks to the rank's samples, so N ranks draw what one process draws.
    private func dropoutKeys(encoder: UInt32, view: UInt32) -> DropoutKeys {
        DropoutKeys(seed: config.seed, encoder: encoder, site: view, step: UInt32(truncatingIfNeeded: iteration))
    }

    /// One training iteration. Returns the loss terms (read back from the device).
    @discardableResult
    public func step(_ views: PretrainViews, epoch: Int) throws -> LossTerms {
        let losses = try forwardBackward(views, epoch: epoch, momentumUpdate: true)
        averageGradients()
        try optimizer.step(learningRate: learningRate(epoch: epoch))
        enqueueGlobalKeys()
        // An op that broke its contract was skipped; the step is then invalid (see OpContract).
        try device.checkErrors()
        iteration += 1
        return losses
    }

    /// Queue warm-up: runs the key encoder (train mode, no parameter change) on a key view and
    /// enqueues the keys. Repeated K/B times before the first step, the queue holds real keys.
    public func enqueueKeys(of keyView: [Float]) throws {
        try computeKeys(keyView, dropoutSite: 3)
        enqueueGlobalKeys()
    }

    /// Enqueues the global batch's keys: this rank's alone, or every rank's gathered in rank
    /// order (staged through the host), so every rank holds the same queue and pointer.
    private func enqueueGlobalKeys() {
        guard let all = gatheredKeys else { queue.enqueue(k); return }
        let gathered = collective.allGather(device.read(k))
        gathered.withUnsafeBufferPointer { device.upload($0, to: all) }
        queue.enqueue(all)
    }

    /// Gradients of the global batch's mean loss: the ranks' gradients (each of its own mean
    /// loss) averaged in one flat all-reduce, so SGD then runs identically on every rank.
    private func averageGradients() {
        guard let sum = gradientSum else { return }
        let tensors = encoderQ.parameters.filter { $0.trainable && $0.hasGradient }.map(\.gradient)
        sum.sum(tensors, on: device, scale: 1 / Float(collective.size))
    }

    /// Whole-batch EADM: the op rescaled by this rank's counts of kept joints and elements; the
    /// counts summed over ranks give the factors one process would apply to the global batch.
    private func globalizeEADM(shape: ActivationShape) {
        guard let rescales = eadmRescales, !config.eadmNoOp else { return }
        let r = device.read(rescales)
        let units = [Double(shape.batch * shape.joints), Double(shape.count)]
        // A factor is units/kept (0 when nothing is kept); recover the integer counts.
        var counts = (0 ..< 2).map { i in r[i] > 0 ? (units[i] / Double(r[i])).rounded() : 0 }
        let localBoth = Double(r[0]) * Double(r[1])
        counts += units
        collective.allReduceSum(&counts)
        guard localBoth > 0 else { return } // everything of this rank dropped: stays zero
        let joint = counts[0] > 0 ? Float(counts[2] / counts[0]) : 0
        let element = counts[1] > 0 ? Float(counts[3] / counts[1]) : 0
        let ratio = Float(Double(joint * element) / localBoth)
        device.axpby(alpha: ratio, x: eadmScale, beta: 0, y: eadmScale)
        device.axpby(alpha: ratio, x: droppedFeatures, beta: 0, y: droppedFeatures)
    }

    /// The ranks' mean of each loss term (each rank's is the mean over its samples).
    private func globalLosses(_ l: LossTerms) -> LossTerms {
        guard collective.size > 1 else { return l }
        var v = [Double(l.contrastive), Double(l.d3mExtreme), Double(l.d3mDropped)]
        collective.allReduceSum(&v)
        let n = Double(collective.size)
        return LossTerms(contrastive: Float(v[0] / n), d3mExtreme: Float(v[1] / n), d3mDropped: Float(v[2] / n))
    }

    /// k = normalize(f_k(view)) with f_k in train mode (batch BN statistics, dropout on).
    private func computeKeys(_ view: [Float], dropoutSite: UInt32) throws {
        if let splits = keySplits, let context = contextKeySplit, let kSplit {
            try computeShuffledKeys(view, splits: splits, context: context, kSplit: kSplit, dropoutSite: dropoutSite)
            return
        }
        view.withUnsafeBufferPointer { device.upload($0, to: contextKey.input) }
        try encoderK.forward(contextKey.input, context: contextKey, training: true,
                             dropout: dropoutKeys(encoder: 1, view: dropoutSite))
        device.l2NormalizeForward(x: contextKey.output, epsilon: 1e-12, y: k)
    }

    /// The keys with shuffled BN: f_k runs on each sub-batch of a shuffled batch (its own batch
    /// statistics and dropout draw), and the normalised keys return to their samples' rows.
    private func computeShuffledKeys(_ view: [Float], splits: ShuffledKeyBatches, context: STGCN.Context, kSplit: Tensor,
                                     dropoutSite: UInt32) throws {
        let order = splits.order(iteration: iteration)
        let b = splits.subBatch, d = config.featureDim
        let sampleLength = view.count / localBatch
        var sub = [Float](repeating: 0, count: b * sampleLength)
        for c in 0..<splits.splits {
            let rows = order[(c * b)..<((c + 1) * b)]
            view.withUnsafeBufferPointer { v in
                sub.withUnsafeMutableBufferPointer { ShuffledKeyBatches.gather(v, rows: rows, rowLength: sampleLength, into: $0) }
            }
            sub.withUnsafeBufferPointer { device.upload($0, to: context.input) }
            try encoderK.forward(context.input, context: context, training: true,
                                 dropout: dropoutKeys(encoder: 1, view: dropoutSite &+ UInt32(c) &* 16))
            device.l2NormalizeForward(x: context.output, epsilon: 1e-12, y: kSplit)
            // Each key back to its sample's row, on the device (no read-back inside the step).
            for (j, r) in rows.enumerated() {
                device.copy(kSplit, srcOffset: j * d, to: k, dstOffset: r * d, count: d)
            }
        }
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
                          noOp: config.eadmNoOp, scale: eadmScale, y: droppedFeatures, rescales: eadmRescales)
            globalizeEADM(shape: contextExtreme.featureShape)
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
        let losses = globalLosses(objective.readLosses())
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
