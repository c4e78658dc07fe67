import Compute

/// The residual branch of an ST-GCN block (spec §2.2).
public enum ResidualKind: Sendable, Equatable {
    /// Block 1: adds nothing.
    case none
    /// C_in == C_out and stride 1: adds the block input.
    case identity
    /// Otherwise: 1×1 conv with temporal stride, then BatchNorm (`residual.0`, `residual.1`).
    case convolution
}

/// Static description of one block.
public struct BlockSpec: Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var stride: Int
    public var residual: ResidualKind
    public var dropout: Float
    public init(inChannels: Int, outChannels: Int, stride: Int, residual: ResidualKind, dropout: Float) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.stride = stride
        self.residual = residual; self.dropout = dropout
    }
}

/// One ST-GCN block, `st_gcn_networks.{i}`:
/// out = ReLU(Dropout(BN(TConv(ReLU(BN(GCN(x, A ⊙ E)))))) + residual(x)).
///
/// Parameters are shared; activations live in a per-context `Activations` and gradient scratch
/// in a per-geometry `Gradients`, so two forwards (two views) can coexist before their backwards.
public final class STGCNBlock: Module {
    public let index: Int
    public let spec: BlockSpec
    public let gcn: GraphConv
    /// `tcn.0`
    public let bn1: BatchNorm
    /// `tcn.2`
    public let tconv: TemporalConv
    /// `tcn.3`
    public let bn2: BatchNorm
    /// `residual.0`, `residual.1` (conv residual only).
    public let residualConv: Conv1x1?
    public let residualBN: BatchNorm?
    /// `edge_importance.{i}` (owned and listed by the encoder), nil when weighting is off.
    let importance: Parameter?
    let adjacency: Tensor
    /// All ones (3, V, V) when importance weighting is off; also used as a gradient sink then.
    let constantImportance: Tensor
    let importanceSink: Tensor

    /// Runs on a frame-major view (see `STGCNConfig.frameMajorMinimumChannels`).
    public let frameMajor: Bool

    init(device: Device, index: Int, spec: BlockSpec, adjacency: Tensor, importance: Parameter?,
         temporalKernel: Int = 9, frameMajor: Bool = false) throws {
        precondition(!frameMajor || spec.stride == 1, "a frame-major block has stride 1")
        self.index = index
        self.spec = spec
        self.frameMajor = frameMajor
        self.adjacency = adjacency
        self.importance = importance
        let name = "st_gcn_networks.\(index)"
        let k = adjacency.dim(0)
        gcn = try GraphConv(device: device, inChannels: spec.inChannels, outChannels: spec.outChannels,
                            partitions: k, name: joinName(name, "gcn"))
        bn1 = try BatchNorm(device: device, channels: spec.outChannels, name: joinName(name, "tcn.0"))
        tconv = try TemporalConv(device: device, inChannels: spec.outChannels, outChannels: spec.outChannels,
                                 kernel: temporalKernel, stride: spec.stride, name: joinName(name, "tcn.2"))
        bn2 = try BatchNorm(device: device, channels: spec.outChannels, name: joinName(name, "tcn.3"))
        if spec.residual == .convolution {
            residualConv = try Conv1x1(device: device, inChannels: spec.inChannels, outChannels: spec.outChannels,
                                       stride: spec.stride, name: joinName(name, "residual.0"))
            residualBN = try BatchNorm(device: device, channels: spec.outChannels, name: joinName(name, "residual.1"))
        } else {
            residualConv = nil
            residualBN = nil
        }
        constantImportance = try device.tensor(filledWith: 1, shape: adjacency.shape)
        importanceSink = try device.makeTensor(adjacency.shape)
        combinedShift = try device.makeTensor([spec.outChannels])
    }

    /// tcn.3's and residual.1's inference shifts added (the conv residual's fused epilogue).
    private let combinedShift: Tensor

    /// Block parameters in PyTorch registration order (gcn, tcn, residual); edge importance is
    /// listed by the encoder, as in the reference model.
    public var parameters: [Parameter] {
        gcn.parameters + bn1.parameters + tconv.parameters + bn2.parameters
            + (residualConv?.parameters ?? []) + (residualBN?.parameters ?? [])
    }
    public var buffers: [StateBuffer] { bn1.buffers + bn2.buffers + (residualBN?.buffers ?? []) }
    public var counters: [Counter] { bn1.counters + bn2.counters + (residualBN?.counters ?? []) }

    /// Output geometry for a given input geometry.
    public func outputShape(_ input: ActivationShape) -> ActivationShape {
        ActivationShape(channels: spec.outChannels, batch: input.batch,
                        frames: tconv.outputFrames(input.frames), joints: input.joints)
    }

    /// The tensors one forward writes. Which of them a backward reads again decides whether a
    /// context must own them or may alias them into shared scratch (see `STGCN.Context`).
    enum Role: CaseIterable {
        /// Graph-conv pre-aggregation (K·Cout, N, T, V); read by the backward.
        case z
        /// Graph-conv output, input of `tcn.0`; read by the backward.
        case g
        /// ReLU(BN(g)), input of `tcn.2`; read by the backward.
        case a1
        /// im2col of `tcn.2`, kept for the backward only when it is not streamed.
        case columns
        /// `tcn.2` output, input of `tcn.3`; read by the backward.
        case c
        /// BN/dropout output; forward-only scratch.
        case d
        /// Residual conv output, input of `residual.1`; read by the backward.
        case r0
        /// Residual BN output; forward-only scratch.
        case r
        /// Block output; read by the backward and by the next block.
        case out
        /// The block input permuted to frame-major (frame-major blocks only); read by the backward.
        case frameMajorInput
    }

    /// Shapes of every tensor a forward writes, for an input geometry.
    func activationShapes(_ input: ActivationShape) -> [Role: [Int]] {
        let output = outputShape(input)
        let cout = spec.outChannels
        let inPlane = [input.batch, input.frames, input.joints]
        var shapes: [Role: [Int]] = [
            .z: [adjacency.dim(0) * cout] + inPlane,
            .g: [cout] + inPlane,
            .a1: [cout] + inPlane,
            .columns: [columnsCount(input)],
            .c: output.dims,
            .d: output.dims,
            .out: output.dims,
        ]
        if spec.residual == .convolution {
            shapes[.r0] = output.dims
            shapes[.r] = output.dims
        }
        if frameMajor { shapes[.frameMajorInput] = input.dims }
        return shapes
    }

    /// Saved activations of one forward.
    final class Activations {
        let input: ActivationShape
        let output: ActivationShape
        /// The graph conv's pre-aggregation; nil in a forward-only context.
        let z: Tensor?
        let g: Tensor, a1: Tensor, c: Tensor, d: Tensor, out: Tensor
        /// The forward's im2col, kept for the backward; nil when it is streamed.
        let columns: Tensor?
        let r0: Tensor?, r: Tensor?
        /// The input in frame-major order (frame-major blocks only).
        let frameMajorInput: Tensor?
        let saved1: BatchNorm.Saved
        let saved2: BatchNorm.Saved
        let savedResidual: BatchNorm.Saved?
        var dropoutKey: RandomKey?
        /// The part of the whole batch this forward's dropout mask was drawn for (data parallelism).
        var dropoutSlice: DropoutSampleSlice?

        /// `tensors` holds one tensor per role of `activationShapes(input)`.
        init(block: STGCNBlock, input: ActivationShape, tensors: [Role: Tensor]) throws {
            self.input = input
            output = block.outputShape(input)
            z = tensors[.z]; g = tensors[.g]!; a1 = tensors[.a1]!; columns = tensors[.columns]
            c = tensors[.c]!; d = tensors[.d]!; out = tensors[.out]!
            r0 = tensors[.r0]; r = tensors[.r]; frameMajorInput = tensors[.frameMajorInput]
            saved1 = try block.bn1.makeSaved()
            saved2 = try block.bn2.makeSaved()
            savedResidual = try block.residualBN?.makeSaved()
        }
    }

    /// Gradient scratch of one block's backward. All but `dInput` are dead once the backward
    /// returns, so the encoder aliases them across blocks; `dInput` feeds the previous block.
    final class Gradients {
        let dS: Tensor, dD: Tensor, dC: Tensor
        let dA1: Tensor, dG: Tensor, dZ: Tensor
        let dR0: Tensor?
        let dInput: Tensor
        /// Frame-major blocks: the output gradient after the ReLU, and the input gradient, in
        /// frame-major order (the latter over dS, which is dead once permuted into the former).
        let dFrameMajor: Tensor?, dInputFrameMajor: Tensor?

        /// Reserves this block's slots in `arena` (before it is allocated).
        static func plan(block: STGCNBlock, input: ActivationShape, arena: ScratchArena, parity: Int) {
            for (slot, shape) in slots(block: block, input: input, parity: parity) {
                arena.reserve(slot, shape.reduce(1, *))
            }
        }

        static func slots(block: STGCNBlock, input: ActivationShape, parity: Int) -> [(String, [Int])] {
            let shapes = block.activationShapes(input)
            var out: [(String, [Int])] = [
                ("dS", shapes[.out]!), ("dD", shapes[.out]!), ("dC", shapes[.out]!),
                ("dA1", shapes[.a1]!), ("dG", shapes[.g]!), ("dZ", shapes[.z]!),
                ("dInput\(parity)", input.dims),
            ]
            if block.spec.residual == .convolution { out.append(("dR0", shapes[.out]!)) }
            // The frame-major input gradient lives in dS's storage, spent once dS is permuted.
            if block.frameMajor { out += [("dFrameMajor", shapes[.out]!), ("dS", input.dims)] }
            return out
        }

        init(block: STGCNBlock, input: ActivationShape, arena: ScratchArena, parity: Int) {
            let shapes = block.activationShapes(input)
            dS = arena.view("dS", shapes[.out]!)
            dD = arena.view("dD", shapes[.out]!)
            dC = arena.view("dC", shapes[.out]!)
            dA1 = arena.view("dA1", shapes[.a1]!)
            dG = arena.view("dG", shapes[.g]!)
            dZ = arena.view("dZ", shapes[.z]!)
            dR0 = block.spec.residual == .convolution ? arena.view("dR0", shapes[.out]!) : nil
            dInput = arena.view("dInput\(parity)", input.dims)
            dFrameMajor = block.frameMajor ? arena.view("dFrameMajor", shapes[.out]!) : nil
            dInputFrameMajor = block.frameMajor ? arena.view("dS", input.dims) : nil
        }
    }

    /// Elements of the temporal conv's im2col scratch for an input geometry.
    func columnsCount(_ input: ActivationShape) -> Int {
        let out = outputShape(input)
        return spec.outChannels * tconv.kernel * out.plane
    }

    var importanceTensor: Tensor { importance?.value ?? constantImportance }

    /// Runs the block on `x` (input geometry of `a`); the result is `a.out`.
    /// `dropoutKey` selects the dropout mask (ignored when not training or p = 0); `batchPart`,
    /// when the batch is one rank's part of a larger one, places its activation batch (N·M)
    /// in the whole batch's, so the mask is the whole batch's mask restricted to the part.
    /// `forwardOnly`: no backward will follow (the graph conv then keeps no state for it, and an
    /// evaluation forward fuses each batch norm, the residual sum and the ReLUs into the convs).
    func forward(x: Tensor, activations a: Activations, training: Bool, dropoutKey: RandomKey,
                 batchPart: (offset: Int, total: Int)? = nil,
                 forwardOnly: Bool = false) {
        // A frame-major block works on its input permuted to (C, T, N, V) and writes its result
        // into d, which is permuted back into out.
        if let xf = a.frameMajorInput {
            toFrameMajor(x, a.input, into: xf)
        }
        let input = a.frameMajorInput ?? x
        let result = frameMajor ? a.d : a.out
        if forwardOnly && !training {
            forwardInference(x: input, activations: a, into: result)
        } else {
            forwardTraining(x: input, activations: a, training: training, dropoutKey: dropoutKey, batchPart: batchPart,
                            forwardOnly: forwardOnly, into: result)
        }
        if frameMajor {
            toSampleMajor(result, a.output, into: a.out)
        }
    }

    /// Sample-major (C, N, T, V) of geometry `s` → frame-major (C, T, N, V).
    private func toFrameMajor(_ x: Tensor, _ s: ActivationShape, into y: Tensor) {
        gcn.weight.device.permute(x: x, shape: s.dims, perm: [0, 2, 1, 3], y: y)
    }

    /// Frame-major (C, T, N, V) of geometry `s` → sample-major (C, N, T, V).
    private func toSampleMajor(_ x: Tensor, _ s: ActivationShape, into y: Tensor) {
        gcn.weight.device.permute(x: x, shape: [s.channels, s.frames, s.batch, s.joints], perm: [0, 2, 1, 3], y: y)
    }

    /// What the graph conv and the 1×1 residual see of the block input: a frame-major block
    /// presents (C, T, N, V) as T sequences of N frames (both ops act per position and mix only
    /// within a frame's joints).
    private func graphView(_ a: Activations) -> ActivationShape {
        let i = a.input
        return frameMajor ? ActivationShape(channels: i.channels, batch: i.frames, frames: i.batch, joints: i.joints) : i
    }

    /// What the temporal conv sees of its input (the graph conv's output): a frame-major block
    /// presents (C, T, N, V) as one sequence of T frames of N·V joints.
    private func middleShape(_ a: Activations) -> ActivationShape {
        let i = a.input
        return frameMajor
            ? ActivationShape(channels: spec.outChannels, batch: 1, frames: i.frames, joints: i.batch * i.joints)
            : ActivationShape(channels: spec.outChannels, batch: i.batch, frames: i.frames, joints: i.joints)
    }

    private func forwardTraining(x: Tensor, activations a: Activations, training: Bool, dropoutKey: RandomKey,
                                 batchPart: (offset: Int, total: Int)?,
                                 forwardOnly: Bool, into result: Tensor) {
        let device = gcn.weight.device
        let view = graphView(a)
        // Residual branch first: it reads the block input only.
        if let conv = residualConv, let bn = residualBN {
            conv.forward(x: x, input: view, y: a.r0!)
            bn.forward(x: a.r0!, y: a.r!, saved: a.savedResidual!, training: training)
        }
        if forwardOnly {
            gcn.inference(x: x, input: view, adjacency: adjacency, importance: importanceTensor, epilogue: nil, y: a.g)
        } else {
            gcn.forward(x: x, input: view, adjacency: adjacency, importance: importanceTensor, z: a.z!, y: a.g)
        }
        bn1.forward(x: a.g, y: a.a1, saved: a.saved1, training: training, relu: true)
        tconv.forward(x: a.a1, input: middleShape(a), columns: a.columns, y: a.c)
        bn2.forward(x: a.c, y: a.d, saved: a.saved2, training: training)
        let residual: Tensor?
        switch spec.residual {
        case .none: residual = nil
        case .identity: residual = x
        case .convolution: residual = a.r!
        }
        if training && spec.dropout > 0 {
            let slice = batchPart.map { dropoutSlice(a, offset: $0.offset, total: $0.total) }
            device.dropoutResidualReLU(x: a.d, p: spec.dropout, key: dropoutKey, slice: slice, residual: residual, y: result)
            a.dropoutKey = dropoutKey
            a.dropoutSlice = slice
        } else {
            a.dropoutKey = nil
            if let residual { device.addReLU(a.d, residual, y: result) } else { device.reluForward(x: a.d, y: result) }
        }
    }

    /// Where `a.d` (the dropout's input) sits in the whole batch: sample-major (C, N·M, T, V) is
    /// (C, N·M, T·V); a frame-major block's (C, T, N·M, V) is (C·T, N·M, V) — the masks of the two
    /// layouts differ, but each continues over the ranks' parts in its own order.
    private func dropoutSlice(_ a: Activations, offset: Int, total: Int) -> DropoutSampleSlice {
        let o = a.output
        return DropoutSampleSlice(samples: o.batch, globalSamples: total, offset: offset,
                                  inner: frameMajor ? o.joints : o.frames * o.joints)
    }

    /// The evaluation forward in two fused passes: ReLU(BN1(gcn(x))) as the graph conv's
    /// epilogue, ReLU(BN2(tconv(·)) + residual) as the temporal conv's (the conv residual's
    /// batch norm folded in as a per-channel scale of it and a shift added to BN2's).
    private func forwardInference(x: Tensor, activations a: Activations, into result: Tensor) {
        let device = gcn.weight.device
        let view = graphView(a)
        let (s1, t1) = bn1.inferenceAffine()
        gcn.inference(x: x, input: view, adjacency: adjacency, importance: importanceTensor,
                      epilogue: ChannelEpilogue(scale: s1, shift: t1, relu: true), y: a.a1)
        let (s2, t2) = bn2.inferenceAffine()
        var epilogue = ChannelEpilogue(scale: s2, shift: t2, relu: true)
        switch spec.residual {
        case .none: break
        case .identity: epilogue.residual = x
        case .convolution:
            residualConv!.forward(x: x, input: view, y: a.r0!)
            let (sR, tR) = residualBN!.inferenceAffine()
            device.add(t2, tR, y: combinedShift)
            epilogue = ChannelEpilogue(scale: s2, shift: combinedShift, residual: a.r0!, residualScale: sR, relu: true)
        }
        tconv.inference(x: a.a1, input: middleShape(a), epilogue: epilogue, y: result)
        a.dropoutKey = nil
    }

    /// Backward from `dOut` (gradient of `a.out`) to `g.dInput` (overwritten) and the parameter
    /// gradients (accumulated). `x` is the same input tensor the forward read.
    /// Without saved columns the temporal conv's backward rebuilds them itself.
    func backward(x: Tensor, activations a: Activations, dOut: Tensor, grads g: Gradients,
                  needInputGradient: Bool = true) throws {
        let device = gcn.weight.device
        // A sample-major block with dropout takes the ReLU's and the dropout's backward in one pass.
        let fusedDropout = a.dropoutKey != nil && g.dFrameMajor == nil
        if let key = a.dropoutKey, fusedDropout {
            device.reluDropoutBackward(y: a.out, dy: dOut, p: spec.dropout, key: key, slice: a.dropoutSlice,
                                       masked: g.dS, dx: g.dD)
        } else {
            device.reluBackward(y: a.out, dy: dOut, dx: g.dS)
        }
        // A frame-major block continues on the permuted gradient and input.
        let dS = g.dFrameMajor ?? g.dS
        if let f = g.dFrameMajor { toFrameMajor(g.dS, a.output, into: f) }
        let xin = a.frameMajorInput ?? x
        let dInput = g.dInputFrameMajor ?? g.dInput
        // Main branch: dropout → tcn.3 → tcn.2 → ReLU → tcn.0 → gcn.
        let dAfterDropout: Tensor
        if let key = a.dropoutKey {
            if !fusedDropout { device.dropoutBackward(dy: dS, p: spec.dropout, key: key, slice: a.dropoutSlice, dx: g.dD) }
            dAfterDropout = g.dD
        } else {
            dAfterDropout = dS
        }
        try bn2.backward(x: a.c, dy: dAfterDropout, dx: g.dC, saved: a.saved2)
        try tconv.backward(x: a.a1, input: middleShape(a), columns: a.columns, dy: g.dC, dx: g.dA1, accumulate: false)
        device.reluBackward(y: a.a1, dy: g.dA1, dx: g.dA1)
        try bn1.backward(x: a.g, dy: g.dA1, dx: g.dG, saved: a.saved1)
        try gcn.backward(x: xin, input: graphView(a), adjacency: adjacency, importance: importance,
                         constantImportance: constantImportance, discard: importanceSink, z: a.z!, dy: g.dG,
                         dz: g.dZ, dx: needInputGradient ? dInput : nil, accumulate: false)
        // Residual branch adds into the input gradient.
        switch spec.residual {
        case .none: break
        case .identity:
            if needInputGradient { device.add(dInput, dS, y: dInput) }
        case .convolution:
            try residualBN!.backward(x: a.r0!, dy: dS, dx: g.dR0!, saved: a.savedResidual!)
            try residualConv!.backward(x: xin, input: graphView(a), dy: g.dR0!, dx: needInputGradient ? dInput : nil,
                                       accumulate: true)
        }
        if needInputGradient, let f = g.dInputFrameMajor {
            toSampleMajor(f, a.input, into: g.dInput)
        }
    }
}
