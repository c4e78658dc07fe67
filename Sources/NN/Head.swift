import Compute

/// What sits on top of the pooled 256-d representation (`fc` in the reference model).
public enum HeadKind: Sendable, Equatable {
    /// `fc`: Linear(hiddenDim, numClass) (linear evaluation, fine-tuning, semi-supervised).
    case classifier(numClass: Int)
    /// `fc.0` Linear(hiddenDim, hidden) → ReLU → `fc.2` Linear(hidden, out) (pre-training).
    case projection(hidden: Int, out: Int)
    /// No head: the output is the representation.
    case none
}

/// Global average pooling over (T, V), mean over persons, then the head.
///
/// Like the blocks, the head's activations live in a `Head.Activations`; one backbone pass can
/// feed several head passes (AimCLR's extreme view runs the head on F and on EADM(F)), and their
/// backwards accumulate into the shared fc parameters.
public final class Head: Module {
    public let kind: HeadKind
    public let inFeatures: Int
    /// `fc` (classifier) or `fc.0` (projection).
    public let first: Linear?
    /// `fc.2` (projection only), or `fc.3` after a hidden batch norm.
    public let second: Linear?
    /// `fc.1`: BatchNorm1d on the projection's hidden layer (off in the reference), as
    /// `Linear → BatchNorm1d → ReLU → Linear`. Per-channel batch statistics keep the hidden units
    /// from settling on one output for every sample (the small-data collapse, see the README).
    public let hiddenNorm: BatchNorm?

    init(device: Device, kind: HeadKind, inFeatures: Int, hiddenBatchNorm: Bool = false) throws {
        self.device = device
        self.kind = kind
        self.inFeatures = inFeatures
        switch kind {
        case .classifier(let numClass):
            first = try Linear(device: device, inFeatures: inFeatures, outFeatures: numClass, name: "fc")
            second = nil
            hiddenNorm = nil
        case .projection(let hidden, let out):
            first = try Linear(device: device, inFeatures: inFeatures, outFeatures: hidden, name: "fc.0")
            if hiddenBatchNorm {
                hiddenNorm = try BatchNorm(device: device, channels: hidden, name: "fc.1")
                second = try Linear(device: device, inFeatures: hidden, outFeatures: out, name: "fc.3")
            } else {
                hiddenNorm = nil
                second = try Linear(device: device, inFeatures: hidden, outFeatures: out, name: "fc.2")
            }
        case .none:
            first = nil
            second = nil
            hiddenNorm = nil
        }
    }

    /// PyTorch registration order: fc.0, fc.1 (batch norm), fc.2 / fc.3.
    public var parameters: [Parameter] {
        (first?.parameters ?? []) + (hiddenNorm?.parameters ?? []) + (second?.parameters ?? [])
    }
    public var buffers: [StateBuffer] { hiddenNorm?.buffers ?? [] }
    public var counters: [Counter] { hiddenNorm?.counters ?? [] }

    /// Width of the head output.
    public var outFeatures: Int {
        switch kind {
        case .classifier(let n): return n
        case .projection(_, let out): return out
        case .none: return inFeatures
        }
    }

    /// Activations of one head pass over a feature map of a fixed geometry.
    public final class Activations {
        public let features: ActivationShape
        public let samples: Int
        public let persons: Int
        /// (N, hiddenDim): the pooled representation.
        public let representation: Tensor
        /// (N, hidden) after ReLU (projection only).
        let hidden: Tensor?
        /// (N, out); equals `representation` for `.none`.
        public let output: Tensor
        // Gradient scratch (per pass, since the two head passes of one view both need theirs
        // before the backbone backward).
        /// Gradient of the representation after a backward.
        public let dRepresentation: Tensor
        let dHidden: Tensor?
        /// Gradient of the feature map (C, N·M, T, V); nil for representation-only activations.
        let dFeaturesStorage: Tensor?
        /// Hidden batch norm only: its (hidden, N) channel-major input and output, their
        /// gradients, and the statistics of this pass.
        let norm: NormActivations?

        struct NormActivations {
            let input: Tensor, output: Tensor, dInput: Tensor, dOutput: Tensor
            let saved: BatchNorm.Saved
        }
        /// Gradient of the feature map (C, N·M, T, V).
        public var dFeatures: Tensor {
            guard let t = dFeaturesStorage else { preconditionFailure("representation-only head activations have no feature gradient") }
            return t
        }

        init(head: Head, features: ActivationShape, persons: Int, withFeatureGradient: Bool = true) throws {
            let device = head.device
            precondition(features.batch % persons == 0, "batch \(features.batch) not a multiple of persons \(persons)")
            self.features = features
            self.persons = persons
            samples = features.batch / persons
            representation = try device.makeTensor([samples, head.inFeatures])
            dRepresentation = try device.makeTensor([samples, head.inFeatures])
            switch head.kind {
            case .projection(let h, let out):
                hidden = try device.makeTensor([samples, h])
                dHidden = try device.makeTensor([samples, h])
                output = try device.makeTensor([samples, out])
            case .classifier(let n):
                hidden = nil
                dHidden = nil
                output = try device.makeTensor([samples, n])
            case .none:
                hidden = nil
                dHidden = nil
                output = representation
            }
            dFeaturesStorage = withFeatureGradient ? try device.makeTensor(features.dims) : nil
            if let bn = head.hiddenNorm {
                let shape = [bn.channels, samples]
                norm = NormActivations(input: try device.makeTensor(shape), output: try device.makeTensor(shape),
                                       dInput: try device.makeTensor(shape), dOutput: try device.makeTensor(shape),
                                       saved: try bn.makeSaved())
            } else {
                norm = nil
            }
        }
    }

    let device: Device

    /// Allocates the activations of one head pass.
    public func makeActivations(features: ActivationShape, persons: Int) throws -> Activations {
        try Activations(head: self, features: features, persons: persons)
    }

    /// Activations for running the head on ready-made representations (N, inFeatures), e.g. a
    /// linear classifier trained on features cached from a frozen eval-mode backbone.
    public func makeRepresentationActivations(samples: Int) throws -> Activations {
        try Activations(head: self, features: ActivationShape(channels: inFeatures, batch: samples, frames: 1, joints: 1),
                        persons: 1, withFeatureGradient: false)
    }

    /// Runs the head on `representation` (N, inFeatures), copied into `a.representation`.
    public func forward(representation: Tensor, activations a: Activations, training: Bool = true) {
        precondition(representation.count == a.representation.count,
                     "head input \(representation.shape) vs \(a.representation.shape)")
        device.copy(representation, srcOffset: 0, to: a.representation, dstOffset: 0, count: representation.count)
        runLayers(a, training: training)
    }

    /// Backward of the head layers only: accumulates fc gradients and returns the gradient of
    /// the representation (owned by `a`).
    @discardableResult
    public func backwardRepresentation(activations a: Activations, dOutput: Tensor) throws -> Tensor {
        try backwardLayers(a, dOutput: dOutput)
        return a.dRepresentation
    }

    /// Pools `features` and runs the head; results in `a.representation` and `a.output`.
    /// `training` selects batch or running statistics of the hidden batch norm (when present).
    public func forward(features: Tensor, activations a: Activations, training: Bool = true) {
        device.poolForward(x: features, channels: a.features.channels, samples: a.samples, persons: a.persons,
                           plane: a.features.frames * a.features.joints, y: a.representation)
        runLayers(a, training: training)
    }

    private func runLayers(_ a: Activations, training: Bool) {
        switch kind {
        case .classifier:
            first!.forward(x: a.representation, y: a.output)
        case .projection:
            first!.forward(x: a.representation, y: a.hidden!)
            if let bn = hiddenNorm, let n = a.norm {
                // The batch norm reads channel-major (hidden, N); the linears sample-major (N, hidden).
                device.permute(x: a.hidden!, shape: [a.samples, bn.channels], perm: [1, 0], y: n.input)
                bn.forward(x: n.input, y: n.output, saved: n.saved, training: training, relu: true)
                device.permute(x: n.output, shape: [bn.channels, a.samples], perm: [1, 0], y: a.hidden!)
            } else {
                device.reluForward(x: a.hidden!, y: a.hidden!)
            }
            second!.forward(x: a.hidden!, y: a.output)
        case .none:
            break
        }
    }

    /// dOutput → a.dRepresentation (overwritten), fc gradients accumulated.
    private func backwardLayers(_ a: Activations, dOutput: Tensor) throws {
        switch kind {
        case .classifier:
            try first!.backward(x: a.representation, dy: dOutput, dx: a.dRepresentation)
        case .projection:
            try second!.backward(x: a.hidden!, dy: dOutput, dx: a.dHidden!)
            device.reluBackward(y: a.hidden!, dy: a.dHidden!, dx: a.dHidden!)
            if let bn = hiddenNorm, let n = a.norm {
                device.permute(x: a.dHidden!, shape: [a.samples, bn.channels], perm: [1, 0], y: n.dOutput)
                try bn.backward(x: n.input, dy: n.dOutput, dx: n.dInput, saved: n.saved)
                device.permute(x: n.dInput, shape: [bn.channels, a.samples], perm: [1, 0], y: a.dHidden!)
            }
            try first!.backward(x: a.representation, dy: a.dHidden!, dx: a.dRepresentation)
        case .none:
            device.copy(dOutput, srcOffset: 0, to: a.dRepresentation, dstOffset: 0, count: dOutput.count)
        }
    }

    /// Backward of one head pass. `dOutput` is the gradient of `a.output` and `dRepresentation`
    /// an extra gradient of the representation (either may be nil). The feature-map gradient is
    /// written to `a.dFeatures` (overwritten) and returned; fc gradients accumulate.
    @discardableResult
    public func backward(activations a: Activations, dOutput: Tensor?, dRepresentation: Tensor?) throws -> Tensor {
        var haveDRep = false
        if let dOutput {
            try backwardLayers(a, dOutput: dOutput)
            haveDRep = true
        }
        if let dRepresentation {
            if haveDRep {
                device.add(a.dRepresentation, dRepresentation, y: a.dRepresentation)
            } else {
                device.copy(dRepresentation, srcOffset: 0, to: a.dRepresentation, dstOffset: 0,
                            count: dRepresentation.count)
                haveDRep = true
            }
        }
        if !haveDRep { device.fill(a.dRepresentation, value: 0) }
        device.poolBackward(dy: a.dRepresentation, channels: a.features.channels, samples: a.samples,
                            persons: a.persons, plane: a.features.frames * a.features.joints, dx: a.dFeatures)
        return a.dFeatures
    }
}
