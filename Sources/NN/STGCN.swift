import Compute

/// Errors of the NN module.
public enum NNError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case shapeMismatch(op: String, detail: String)
    case stateDict(String)

    public var description: String {
        switch self {
        case .invalidConfig(let why): return "invalid encoder configuration: \(why)"
        case .shapeMismatch(let op, let detail): return "\(op): shape mismatch: \(detail)"
        case .stateDict(let why): return "state dict: \(why)"
        }
    }
}

/// Configuration of the ST-GCN encoder of spec §2.
public struct STGCNConfig: Sendable {
    public var inChannels: Int
    public var hiddenChannels: Int
    public var hiddenDim: Int
    public var dropout: Float
    public var edgeImportance: Bool
    /// The (K, V, V) partitioned adjacency, row-major, rows = source joint, columns = target.
    public var adjacency: [Float]
    public var joints: Int
    public var head: HeadKind
    /// A BatchNorm1d on the projection head's hidden layer (not in the reference).
    public var projectionBatchNorm = false
    /// The block stack; defaults to the 10-block table of spec §2.3.
    public var blocks: [BlockSpec]
    public var temporalKernel: Int = 9
    /// When true (the default), no temporal-conv im2col outlives its layer: the forward streams it
    /// through device scratch and the backward rebuilds it block by block (an im2col, no extra
    /// GEMM). About 2.4 GB per trainable view at the reference shapes. False keeps one column
    /// buffer per block from the forward for the backward.
    public var recomputeTemporalColumns: Bool = true
    /// Stride-1 blocks at least this wide run on a frame-major view of their activations,
    /// (C, T, N·M, V) instead of (C, N·M, T, V): every temporal-conv tap is then a long window of
    /// whole frames across the batch (a few large GEMMs instead of one per sequence and tap, and
    /// only the taps that land inside the sequence). Such a block permutes its input in and its
    /// output back, so its neighbours see the usual layout; its dropout mask is drawn over the
    /// frame-major order. nil: no block.
    public var frameMajorMinimumChannels: Int? = 128

    /// Whether `spec` runs frame-major (see `frameMajorMinimumChannels`).
    public func runsFrameMajor(_ spec: BlockSpec) -> Bool {
        guard let minimum = frameMajorMinimumChannels else { return false }
        return spec.stride == 1 && spec.outChannels >= minimum
    }

    public init(inChannels: Int = 3, hiddenChannels: Int = 16, hiddenDim: Int = 256, dropout: Float = 0.5,
                edgeImportance: Bool = true, adjacency: [Float], joints: Int, head: HeadKind,
                blocks: [BlockSpec]? = nil) {
        self.inChannels = inChannels
        self.hiddenChannels = hiddenChannels
        self.hiddenDim = hiddenDim
        self.dropout = dropout
        self.edgeImportance = edgeImportance
        self.adjacency = adjacency
        self.joints = joints
        self.head = head
        self.blocks = blocks ?? Self.standardBlocks(inChannels: inChannels, hidden: hiddenChannels,
                                                    hiddenDim: hiddenDim, dropout: dropout)
    }

    /// Spec §2.3: widths h, h, h, h, 2h (stride 2), 2h, 2h, 4h (stride 2), 4h, hiddenDim;
    /// block 1 has no residual and no dropout.
    public static func standardBlocks(inChannels: Int, hidden h: Int, hiddenDim: Int, dropout: Float) -> [BlockSpec] {
        let table: [(Int, Int, Int)] = [
            (inChannels, h, 1), (h, h, 1), (h, h, 1), (h, h, 1), (h, 2 * h, 2),
            (2 * h, 2 * h, 1), (2 * h, 2 * h, 1), (2 * h, 4 * h, 2), (4 * h, 4 * h, 1), (4 * h, hiddenDim, 1),
        ]
        return table.enumerated().map { i, row in
            BlockSpec(inChannels: row.0, outChannels: row.1, stride: row.2,
                      residual: residualKind(index: i, inChannels: row.0, outChannels: row.1, stride: row.2),
                      dropout: i == 0 ? 0 : dropout)
        }
    }

    /// The reference rule: block 1 has none; identity when shapes match; otherwise conv + BN.
    public static func residualKind(index: Int, inChannels: Int, outChannels: Int, stride: Int) -> ResidualKind {
        if index == 0 { return .none }
        return inChannels == outChannels && stride == 1 ? .identity : .convolution
    }
}

/// Where a forward's dropout masks come from: `RandomKey(seed, stream, step)` with
/// stream = encoder id << 16 | call site << 8 | block index, so each (encoder, view, block)
/// draws its own mask and CPU and OpenCL draw the same one.
public struct DropoutKeys: Sendable, Equatable {
    public var seed: UInt64
    public var encoder: UInt32
    public var site: UInt32
    public var step: UInt32
    public init(seed: UInt64, encoder: UInt32 = 0, site: UInt32 = 0, step: UInt32 = 0) {
        self.seed = seed; self.encoder = encoder; self.site = site; self.step = step
    }
    public func key(block: Int) -> RandomKey {
        RandomKey(seed: seed, stream: (encoder << 16) | ((site & 0xFF) << 8) | UInt32(block & 0xFF), step: step)
    }
}

/// The ST-GCN encoder (`net/st_gcn.py` Model): data BN, 10 blocks with edge importance,
/// pooling with person mean, and a head.
///
/// One AimCLR step on the query encoder, as a sketch:
///
///     q.zeroGradients()
///     let normal = try q.forward(ctxQ.input, context: ctxQ, training: true, dropout: keys(site: 0))
///     let f = try q.forwardFeatures(ctxE.input, context: ctxE, training: true, dropout: keys(site: 1))
///     q.forwardHead(features: f, head: ctxE.head)              // extreme embedding
///     device.eadmForward(x: f, …, scale: s, y: dropped)
///     q.forwardHead(features: dropped, head: droppedHead)      // dropped-extreme embedding
///     … losses give dQ, dQe, dQed …
///     try q.backward(context: ctxQ, dOutput: dQ)
///     let dF = try q.backwardHead(ctxE.head, dOutput: dQe)
///     let dFd = try q.backwardHead(droppedHead, dOutput: dQed)
///     device.multiply(dFd, s, y: dFd); device.add(dF, dFd, y: dF)
///     try q.backwardFeatures(context: ctxE, dFeatures: dF)
///     try sgd.step(learningRate: schedule.learningRate(epoch: epoch))
///
/// Each context owns the activations its backward needs and is allocated once per geometry;
/// parameter gradients accumulate over backwards until `zeroGradients()`.
public final class STGCN: Module {
    public let config: STGCNConfig
    public let device: Device
    public let dataBN: DataBatchNorm
    public let blocks: [STGCNBlock]
    public let head: Head
    /// `edge_importance.{i}`; empty when importance weighting is off.
    public let edgeImportance: [Parameter]
    /// The (K, V, V) adjacency on the device (the reference's `A` buffer).
    public let adjacency: Tensor
    /// Data parallelism: this encoder's batches are samples [firstSample, firstSample + N) of
    /// global batches of `globalSamples`; dropout then draws the whole batch's masks
    /// (`DropoutSampleSlice`), so they do not depend on the split. nil: the batch is whole.
    public var batchPart: (firstSample: Int, globalSamples: Int)?

    /// Gradient scratch per input geometry, shared by all contexts (backwards run one at a time).
    private var workspaces: [InputGeometry: Workspace] = [:]
    /// Contexts handed out by `context(_:requiresGrad:tag:)`.
    private var contextCache: [ContextKey: Context] = [:]
    private struct ContextKey: Hashable {
        var geometry: InputGeometry
        var requiresGrad: Bool
        var tag: Int
    }

    public init(config: STGCNConfig, device: Device, seed: UInt64) throws {
        let v = config.joints
        guard v > 0, config.adjacency.count % (v * v) == 0, !config.adjacency.isEmpty else {
            throw NNError.invalidConfig("adjacency has \(config.adjacency.count) values, not a multiple of V·V = \(v * v)")
        }
        guard !config.blocks.isEmpty, config.blocks[0].inChannels == config.inChannels else {
            throw NNError.invalidConfig("first block must take \(config.inChannels) channels")
        }
        for i in 1..<config.blocks.count where config.blocks[i].inChannels != config.blocks[i - 1].outChannels {
            throw NNError.invalidConfig("block \(i) takes \(config.blocks[i].inChannels) channels but block \(i - 1) gives \(config.blocks[i - 1].outChannels)")
        }
        self.config = config
        self.device = device
        let k = config.adjacency.count / (v * v)
        adjacency = try device.tensor(config.adjacency, shape: [k, v, v])
        dataBN = try DataBatchNorm(device: device, inChannels: config.inChannels, joints: v, name: "data_bn")
        var importance: [Parameter] = []
        if config.edgeImportance {
            for i in 0..<config.blocks.count {
                importance.append(try Parameter(name: "edge_importance.\(i)",
                                                value: device.tensor(filledWith: 1, shape: [k, v, v]), initRule: .one))
            }
        }
        edgeImportance = importance
        var built: [STGCNBlock] = []
        for (i, spec) in config.blocks.enumerated() {
            built.append(try STGCNBlock(device: device, index: i, spec: spec, adjacency: adjacency,
                                        importance: config.edgeImportance ? importance[i] : nil,
                                        temporalKernel: config.temporalKernel, frameMajor: config.runsFrameMajor(spec)))
        }
        blocks = built
        head = try Head(device: device, kind: config.head, inFeatures: config.blocks.last!.outChannels,
                        hiddenBatchNorm: config.projectionBatchNorm)
        initialize(seed: seed)
    }

    /// Reference registration order: data_bn, st_gcn_networks, fc, edge_importance.
    public var parameters: [Parameter] {
        dataBN.parameters + blocks.flatMap { $0.parameters } + head.parameters + edgeImportance
    }
    public var buffers: [StateBuffer] { dataBN.buffers + blocks.flatMap { $0.buffers } + head.buffers }
    public var counters: [Counter] { dataBN.counters + blocks.flatMap { $0.counters } + head.counters }

    /// Parameters without the head (what linear evaluation loads from a pre-training checkpoint).
    public var backboneParameters: [Parameter] {
        dataBN.parameters + blocks.flatMap { $0.parameters } + edgeImportance
    }

    /// Reference `weights_init`: conv/linear weights N(0, 0.02²), BN weights N(1, 0.02²), biases 0,
    /// edge importance 1. Parameter i draws from stream i of a Philox generator keyed by `seed`.
    public func initialize(seed: UInt64) {
        let gen = GaussianInitializer(seed: seed)
        for (i, p) in parameters.enumerated() {
            p.initialize(p.initRule, initializer: gen, stream: UInt32(i))
        }
    }

    /// Re-initialises only the head (a fresh classifier for linear evaluation).
    public func initializeHead(seed: UInt64) {
        let gen = GaussianInitializer(seed: seed)
        for (i, p) in head.parameters.enumerated() {
            p.initialize(p.initRule, initializer: gen, stream: 0x4845_0000 | UInt32(i))
        }
    }

    // MARK: Contexts

    /// Saved activations of one forward pass (one view). Allocated once per geometry and reused.
    public final class Context {
        public let geometry: InputGeometry
        /// False for forward-only use (key encoder, evaluation): scratch is shared between blocks.
        public let requiresGrad: Bool
        /// Convenience upload target for an (N, C, T, V, M) batch.
        public let input: Tensor
        let data: DataBatchNorm.Activations
        let blocks: [STGCNBlock.Activations]
        /// The head pass on the final feature map.
        public let head: Head.Activations
        /// Whether backward rebuilds each block's im2col scratch (see `STGCNConfig`).
        let recomputesColumns: Bool
        /// Set by each forward: the tensor it read and its mode.
        var lastInput: Tensor?
        public internal(set) var training = true

        init(encoder: STGCN, geometry: InputGeometry, requiresGrad: Bool) throws {
            self.geometry = geometry
            self.requiresGrad = requiresGrad
            recomputesColumns = requiresGrad && encoder.config.recomputeTemporalColumns
            let device = encoder.device
            input = try device.makeTensor(geometry.shape)
            data = try DataBatchNorm.Activations(device: device, geometry: geometry, bn: encoder.dataBN.bn)

            // Storage plan: what a backward reads again is owned per block; the rest aliases
            // shared slots. A forward-only context keeps nothing, so all of a block's
            // intermediates are slots and the outputs alternate between two buffers.
            let arena = ScratchArena(device: device)
            // Streamed columns (no tensor at all): every forward-only context, and trainable ones
            // that rebuild them in the backward.
            let streams = !requiresGrad || recomputesColumns
            func slot(_ role: STGCNBlock.Role, block i: Int) -> String? {
                if !requiresGrad { return role == .out ? "out\(i % 2)" : "\(role)" }
                return role == .d || role == .r ? "\(role)" : nil
            }
            // The graph conv's pre-aggregation z only exists for a backward.
            func needed(_ role: STGCNBlock.Role) -> Bool {
                !(role == .columns && streams) && !(role == .z && !requiresGrad)
            }
            var shape = geometry.activation
            var plans: [(STGCNBlock, ActivationShape, [STGCNBlock.Role: [Int]])] = []
            for b in encoder.blocks {
                let shapes = b.activationShapes(shape)
                plans.append((b, shape, shapes))
                for (role, dims) in shapes where needed(role) {
                    if let name = slot(role, block: plans.count - 1) { arena.reserve(name, dims.reduce(1, *)) }
                }
                shape = b.outputShape(shape)
            }
            try arena.allocate()
            var acts: [STGCNBlock.Activations] = []
            for (i, (b, inShape, shapes)) in plans.enumerated() {
                var tensors: [STGCNBlock.Role: Tensor] = [:]
                for (role, dims) in shapes where needed(role) {
                    if let name = slot(role, block: i) {
                        tensors[role] = arena.view(name, dims)
                    } else {
                        tensors[role] = try device.makeTensor(dims)
                    }
                }
                acts.append(try STGCNBlock.Activations(block: b, input: inShape, tensors: tensors))
            }
            blocks = acts
            head = try encoder.head.makeActivations(features: shape, persons: geometry.persons)
        }

        /// The final block's output map (C, N·M, T, V) after the last forward.
        public var features: Tensor { blocks.last!.out }
        /// Geometry of `features`.
        public var featureShape: ActivationShape { blocks.last!.output }
        /// Per-block outputs after the last forward (for inspection and tests). A forward-only
        /// context reuses two output buffers, so there only the last two are current.
        public var blockOutputs: [Tensor] { blocks.map { $0.out } }
        public var blockOutputShapes: [ActivationShape] { blocks.map { $0.output } }
        /// The pooled representation (N, hiddenDim) of the last forward.
        public var representation: Tensor { head.representation }
        /// The head output of the last forward.
        public var output: Tensor { head.output }
    }

    /// Gradient scratch of one geometry: each block's backward intermediates are dead when it
    /// returns, so all blocks share slots; input gradients alternate between two buffers.
    private final class Workspace {
        let data: DataBatchNorm.Gradients
        let blocks: [STGCNBlock.Gradients]
        init(encoder: STGCN, geometry: InputGeometry) throws {
            data = try DataBatchNorm.Gradients(device: encoder.device, geometry: geometry)
            let arena = ScratchArena(device: encoder.device)
            var shapes: [ActivationShape] = []
            var shape = geometry.activation
            for (i, b) in encoder.blocks.enumerated() {
                shapes.append(shape)
                STGCNBlock.Gradients.plan(block: b, input: shape, arena: arena, parity: i % 2)
                shape = b.outputShape(shape)
            }
            try arena.allocate()
            blocks = encoder.blocks.enumerated().map { i, b in
                STGCNBlock.Gradients(block: b, input: shapes[i], arena: arena, parity: i % 2)
            }
        }
    }

    /// A context for batches of `geometry`.
    public func makeContext(_ geometry: InputGeometry, requiresGrad: Bool = true) throws -> Context {
        guard geometry.channels == config.inChannels, geometry.joints == config.joints else {
            throw NNError.shapeMismatch(op: "STGCN.makeContext",
                                        detail: "input \(geometry) vs encoder C \(config.inChannels), V \(config.joints)")
        }
        return try Context(encoder: self, geometry: geometry, requiresGrad: requiresGrad)
    }

    /// Convenience: a context for (N, C, T, V, M) = (samples, inChannels, frames, joints, persons).
    public func makeContext(samples: Int, frames: Int, persons: Int, requiresGrad: Bool = true) throws -> Context {
        try makeContext(InputGeometry(samples: samples, channels: config.inChannels, frames: frames,
                                      joints: config.joints, persons: persons), requiresGrad: requiresGrad)
    }

    /// The context for (`geometry`, `requiresGrad`, `tag`), created on first use and reused
    /// afterwards, so a loop over batches (including a smaller last batch) allocates once per
    /// shape. Use distinct tags for views whose activations must coexist (normal and extreme).
    public func context(_ geometry: InputGeometry, requiresGrad: Bool, tag: Int = 0) throws -> Context {
        let key = ContextKey(geometry: geometry, requiresGrad: requiresGrad, tag: tag)
        if let c = contextCache[key] { return c }
        let c = try makeContext(geometry, requiresGrad: requiresGrad)
        contextCache[key] = c
        return c
    }

    /// Drops cached contexts and gradient scratch (e.g. between pre-training and evaluation).
    public func releaseActivationMemory() {
        contextCache.removeAll()
        workspaces.removeAll()
    }

    /// A second head pass over the feature map of `context` (AimCLR's EADM branch).
    public func makeHeadActivations(for context: Context) throws -> Head.Activations {
        try head.makeActivations(features: context.featureShape, persons: context.geometry.persons)
    }

    private func workspace(_ geometry: InputGeometry) throws -> Workspace {
        if let w = workspaces[geometry] { return w }
        let w = try Workspace(encoder: self, geometry: geometry)
        workspaces[geometry] = w
        return w
    }

    // MARK: Forward

    /// Backbone only: data BN and all blocks. Returns the final feature map (C, N·M, T, V),
    /// owned by `context`. `input` is (N, C, T, V, M) (e.g. `context.input` after an upload).
    @discardableResult
    public func forwardFeatures(_ input: Tensor, context: Context, training: Bool,
                                dropout: DropoutKeys = DropoutKeys(seed: 0)) throws -> Tensor {
        guard input.count == context.geometry.count else {
            throw NNError.shapeMismatch(op: "STGCN.forward", detail: "input has \(input.count) elements, context expects \(context.geometry)")
        }
        context.lastInput = input
        context.training = training
        dataBN.forward(input: input, activations: context.data, training: training)
        var x = context.data.output
        for (i, b) in blocks.enumerated() {
            b.forward(x: x, activations: context.blocks[i], training: training, dropoutKey: dropout.key(block: i),
                      batchPart: batchPart.map { (offset: $0.firstSample * context.geometry.persons,
                                                  total: $0.globalSamples * context.geometry.persons) },
                      forwardOnly: !context.requiresGrad)
            x = context.blocks[i].out
        }
        return x
    }

    /// Pools a feature map of `head`'s geometry and runs the head into `head`.
    public func forwardHead(features: Tensor, head activations: Head.Activations, training: Bool = true) {
        head.forward(features: features, activations: activations, training: training)
    }

    /// Full forward; returns the head activations (`representation`, `output`) of `context`.
    @discardableResult
    public func forward(_ input: Tensor, context: Context, training: Bool,
                        dropout: DropoutKeys = DropoutKeys(seed: 0)) throws -> Head.Activations {
        let features = try forwardFeatures(input, context: context, training: training, dropout: dropout)
        head.forward(features: features, activations: context.head, training: training)
        return context.head
    }

    // MARK: Backward

    /// Backward of one head pass; returns its feature-map gradient (owned by `activations`).
    @discardableResult
    public func backwardHead(_ activations: Head.Activations, dOutput: Tensor?,
                             dRepresentation: Tensor? = nil) throws -> Tensor {
        try head.backward(activations: activations, dOutput: dOutput, dRepresentation: dRepresentation)
    }

    /// Backbone backward from a feature-map gradient (C, N·M, T, V). Parameter gradients
    /// accumulate. Returns the input gradient (N, C, T, V, M), valid until the next backward
    /// of the same geometry.
    @discardableResult
    public func backwardFeatures(context: Context, dFeatures: Tensor) throws -> Tensor {
        guard context.requiresGrad else {
            throw NNError.invalidConfig("backward on a context made with requiresGrad: false")
        }
        guard context.lastInput != nil else {
            throw NNError.invalidConfig("backward before forward")
        }
        let ws = try workspace(context.geometry)
        var dOut = dFeatures
        for i in stride(from: blocks.count - 1, through: 0, by: -1) {
            let x = i == 0 ? context.data.output : context.blocks[i - 1].out
            try blocks[i].backward(x: x, activations: context.blocks[i], dOut: dOut, grads: ws.blocks[i])
            dOut = ws.blocks[i].dInput
        }
        try dataBN.backward(activations: context.data, dOutput: dOut, grads: ws.data)
        return ws.data.dInput
    }

    /// Full backward of `context`'s own head pass and the backbone.
    @discardableResult
    public func backward(context: Context, dOutput: Tensor?, dRepresentation: Tensor? = nil) throws -> Tensor {
        let dF = try backwardHead(context.head, dOutput: dOutput, dRepresentation: dRepresentation)
        return try backwardFeatures(context: context, dFeatures: dF)
    }

    // MARK: Copies

    /// Copies every parameter and state buffer from `other` (same configuration).
    public func copyState(from other: STGCN) throws {
        let mine = parameters, theirs = other.parameters
        guard mine.count == theirs.count else {
            throw NNError.shapeMismatch(op: "STGCN.copyState", detail: "\(mine.count) vs \(theirs.count) parameters")
        }
        for (a, b) in zip(mine, theirs) {
            guard a.shape == b.shape else {
                throw NNError.shapeMismatch(op: "STGCN.copyState", detail: "\(a.name) \(a.shape) vs \(b.shape)")
            }
            device.copy(b.value, srcOffset: 0, to: a.value, dstOffset: 0, count: a.count)
        }
        for (a, b) in zip(buffers, other.buffers) {
            device.copy(b.value, srcOffset: 0, to: a.value, dstOffset: 0, count: a.value.count)
        }
        for (a, b) in zip(counters, other.counters) { a.value = b.value }
    }
}
