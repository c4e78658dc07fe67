import Compute

/// BatchNorm1d/BatchNorm2d over a channel-major `(C, P)` activation (PyTorch defaults:
/// eps 1e-5, momentum 0.1, affine, tracked running statistics).
///
/// The layer owns parameters and running statistics; the per-forward saved statistics live in
/// a `BatchNorm.Saved` owned by the caller's context, so two forwards can be in flight.
public final class BatchNorm: Module {
    public let channels: Int
    public let momentum: Float = 0.1
    public let epsilon: Float = 1e-5
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: StateBuffer
    public let runningVar: StateBuffer
    public let numBatchesTracked: Counter
    /// This layer in inference mode as a per-channel affine map (see `inferenceAffine()`).
    private let inferenceScale: Tensor
    private let inferenceShift: Tensor
    /// Set when the batch is split over ranks: training forwards then use the statistics of the
    /// whole global batch (synchronised batch norm); nil keeps the single-device path.
    var synchronization: SynchronizedBatchNorm?

    /// Mean and 1/sqrt(var+eps) of one forward, read again by its backward.
    public final class Saved {
        let mean: Tensor
        let invStd: Tensor
        var training = true
        /// The forward normalised with statistics of the whole global batch (see `SynchronizedBatchNorm`).
        var synchronized = false
        init(device: Device, channels: Int) throws {
            mean = try device.makeTensor([channels])
            invStd = try device.makeTensor([channels])
        }
    }

    public init(device: Device, channels: Int, name: String) throws {
        self.channels = channels
        weight = try Parameter(name: joinName(name, "weight"), value: device.makeTensor([channels]),
                               initRule: .batchNormWeight)
        bias = try Parameter(name: joinName(name, "bias"), value: device.makeTensor([channels]), initRule: .zero)
        runningMean = StateBuffer(name: joinName(name, "running_mean"),
                                  value: try device.tensor(filledWith: 0, shape: [channels]))
        runningVar = StateBuffer(name: joinName(name, "running_var"),
                                 value: try device.tensor(filledWith: 1, shape: [channels]))
        numBatchesTracked = Counter(name: joinName(name, "num_batches_tracked"))
        inferenceScale = try device.makeTensor([channels])
        inferenceShift = try device.makeTensor([channels])
        device.fill(weight.value, value: 1)
        device.fill(bias.value, value: 0)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [StateBuffer] { [runningMean, runningVar] }
    public var counters: [Counter] { [numBatchesTracked] }

    func makeSaved() throws -> Saved { try Saved(device: weight.device, channels: channels) }

    /// y = BN(x) (max(BN(x), 0) with `relu`); in training mode uses batch statistics and
    /// updates the running ones.
    func forward(x: Tensor, y: Tensor, saved: Saved, training: Bool, relu: Bool = false) {
        if training, let sync = synchronization {
            sync.forward(self, x: x, y: y, saved: saved, relu: relu)
            numBatchesTracked.value += 1
            return
        }
        saved.synchronized = false
        weight.device.batchNormForward(
            x: x, channels: channels, training: training, momentum: momentum, epsilon: epsilon,
            gamma: weight.value, beta: bias.value, runningMean: runningMean.value,
            runningVar: runningVar.value, savedMean: saved.mean, savedInvStd: saved.invStd, relu: relu, y: y)
        saved.training = training
        if training { numBatchesTracked.value += 1 }
    }

    /// The inference-mode layer as y = scale·x + shift, from the current parameters and running
    /// statistics (recomputed on the device at every call: the tensors are a few hundred floats).
    func inferenceAffine() -> (scale: Tensor, shift: Tensor) {
        weight.device.batchNormInferenceAffine(gamma: weight.value, beta: bias.value, runningMean: runningMean.value,
                                               runningVar: runningVar.value, epsilon: epsilon,
                                               scale: inferenceScale, shift: inferenceShift)
        return (inferenceScale, inferenceShift)
    }

    /// dx from dy (overwritten); accumulates dGamma, dBeta into the parameters.
    func backward(x: Tensor, dy: Tensor, dx: Tensor, saved: Saved) throws {
        let device = weight.device
        if saved.synchronized, let sync = synchronization {
            try sync.backward(self, x: x, dy: dy, dx: dx, saved: saved)
            return
        }
        try weight.accumulateGradient { dGamma in
            try bias.accumulateGradient { dBeta in
                device.batchNormBackward(x: x, channels: channels, training: saved.training,
                                         gamma: weight.value, savedMean: saved.mean,
                                         savedInvStd: saved.invStd, dy: dy, dx: dx,
                                         dGamma: dGamma, dBeta: dBeta)
            }
        }
    }
}
