import Compute

/// A 1×1 Conv2d with bias and temporal stride (the conv residual, `residual.0`).
/// Weight shape (Cout, Cin, 1, 1) as in PyTorch.
public final class Conv1x1: Module {
    public let inChannels: Int
    public let outChannels: Int
    public let stride: Int
    public let weight: Parameter
    public let bias: Parameter

    public init(device: Device, inChannels: Int, outChannels: Int, stride: Int, name: String) throws {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        weight = try Parameter(name: joinName(name, "weight"),
                               value: device.tensor(filledWith: 0, shape: [outChannels, inChannels, 1, 1]),
                               initRule: .convWeight)
        bias = try Parameter(name: joinName(name, "bias"), value: device.tensor(filledWith: 0, shape: [outChannels]),
                             initRule: .zero)
    }

    public var parameters: [Parameter] { [weight, bias] }

    func forward(x: Tensor, input: ActivationShape, y: Tensor) {
        weight.device.conv1x1Forward(x: x, input: input, stride: stride, weight: weight.value, bias: bias.value, y: y)
    }

    func backward(x: Tensor, input: ActivationShape, dy: Tensor, dx: Tensor?, accumulate: Bool) throws {
        let device = weight.device
        try weight.accumulateGradient { dW in
            try bias.accumulateGradient { dB in
                device.conv1x1Backward(x: x, input: input, stride: stride, weight: weight.value, dy: dy,
                                       dx: dx, accumulate: accumulate, dWeight: dW, dBias: dB)
            }
        }
    }
}

/// ST-GCN's `ConvTemporalGraphical` (the block's `gcn`): a 1×1 conv to K·Cout channels
/// (k-major), then aggregation over the K adjacency partitions weighted by edge importance.
/// Weight `gcn.conv.weight` has shape (K·Cout, Cin, 1, 1).
public final class GraphConv: Module {
    public let inChannels: Int
    public let outChannels: Int
    public let partitions: Int
    public let weight: Parameter
    public let bias: Parameter

    public init(device: Device, inChannels: Int, outChannels: Int, partitions: Int, name: String) throws {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.partitions = partitions
        weight = try Parameter(name: joinName(name, "conv.weight"),
                               value: device.tensor(filledWith: 0,
                                                    shape: [partitions * outChannels, inChannels, 1, 1]),
                               initRule: .convWeight)
        bias = try Parameter(name: joinName(name, "conv.bias"),
                             value: device.tensor(filledWith: 0, shape: [partitions * outChannels]),
                             initRule: .zero)
    }

    public var parameters: [Parameter] { [weight, bias] }

    func forward(x: Tensor, input: ActivationShape, adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor) {
        weight.device.graphConvForward(x: x, input: input, weight: weight.value, bias: bias.value,
                                       adjacency: adjacency, importance: importance, z: z, y: y)
    }

    /// Forward without the state a backward needs, with an optional epilogue on y.
    func inference(x: Tensor, input: ActivationShape, adjacency: Tensor, importance: Tensor,
                   epilogue: ChannelEpilogue?, y: Tensor) {
        weight.device.graphConvInference(x: x, input: input, weight: weight.value, bias: bias.value,
                                         adjacency: adjacency, importance: importance, epilogue: epilogue, y: y)
    }

    /// `importance` is the edge-importance parameter, or nil when importance weighting is off
    /// (then `constantImportance` is used and its gradient discarded into `discard`).
    func backward(x: Tensor, input: ActivationShape, adjacency: Tensor, importance: Parameter?,
                  constantImportance: Tensor, discard: Tensor, z: Tensor, dy: Tensor, dz: Tensor,
                  dx: Tensor?, accumulate: Bool) throws {
        let device = weight.device
        try weight.accumulateGradient { dW in
            try bias.accumulateGradient { dB in
                if let importance {
                    try importance.accumulateGradient { dE in
                        device.graphConvBackward(x: x, input: input, weight: weight.value, adjacency: adjacency,
                                                 importance: importance.value, z: z, dy: dy, dz: dz, dx: dx,
                                                 accumulate: accumulate, dWeight: dW, dBias: dB, dImportance: dE)
                    }
                } else {
                    device.graphConvBackward(x: x, input: input, weight: weight.value, adjacency: adjacency,
                                             importance: constantImportance, z: z, dy: dy, dz: dz, dx: dx,
                                             accumulate: accumulate, dWeight: dW, dBias: dB, dImportance: discard)
                }
            }
        }
    }
}

/// The temporal convolution `tcn.2`: Conv2d(C, C, (kt, 1), stride (s, 1), padding ((kt-1)/2, 0)).
/// Weight shape (Cout, Cin, kt, 1).
public final class TemporalConv: Module {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let weight: Parameter
    public let bias: Parameter

    public init(device: Device, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, name: String) throws {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        weight = try Parameter(name: joinName(name, "weight"),
                               value: device.tensor(filledWith: 0, shape: [outChannels, inChannels, kernel, 1]),
                               initRule: .convWeight)
        bias = try Parameter(name: joinName(name, "bias"), value: device.tensor(filledWith: 0, shape: [outChannels]),
                             initRule: .zero)
    }

    public var parameters: [Parameter] { [weight, bias] }

    /// Output frames for `frames` input frames: ⌊(T + 2·pad − kt)/s⌋ + 1.
    public func outputFrames(_ frames: Int) -> Int {
        (frames + 2 * ((kernel - 1) / 2) - kernel) / stride + 1
    }

    func forward(x: Tensor, input: ActivationShape, columns: Tensor?, y: Tensor) {
        weight.device.temporalConvForward(x: x, input: input, kernel: kernel, stride: stride,
                                          weight: weight.value, bias: bias.value, columns: columns, y: y)
    }

    /// Forward-only, with an optional epilogue on y.
    func inference(x: Tensor, input: ActivationShape, epilogue: ChannelEpilogue?, y: Tensor) {
        weight.device.temporalConvInference(x: x, input: input, kernel: kernel, stride: stride, weight: weight.value,
                                            bias: bias.value, epilogue: epilogue, y: y)
    }

    func backward(x: Tensor, input: ActivationShape, columns: Tensor?, dy: Tensor, dx: Tensor?,
                  accumulate: Bool) throws {
        let device = weight.device
        try weight.accumulateGradient { dW in
            try bias.accumulateGradient { dB in
                device.temporalConvBackward(x: x, input: input, kernel: kernel, stride: stride,
                                            weight: weight.value, columns: columns, dy: dy, dx: dx,
                                            accumulate: accumulate, dWeight: dW, dBias: dB)
            }
        }
    }
}

/// nn.Linear(in, out) with bias; weight (out, in).
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter

    public init(device: Device, inFeatures: Int, outFeatures: Int, name: String) throws {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = try Parameter(name: joinName(name, "weight"),
                               value: device.tensor(filledWith: 0, shape: [outFeatures, inFeatures]),
                               initRule: .convWeight)
        bias = try Parameter(name: joinName(name, "bias"), value: device.tensor(filledWith: 0, shape: [outFeatures]),
                             initRule: .zero)
    }

    public var parameters: [Parameter] { [weight, bias] }

    func forward(x: Tensor, y: Tensor) {
        weight.device.linearForward(x: x, weight: weight.value, bias: bias.value, y: y)
    }

    func backward(x: Tensor, dy: Tensor, dx: Tensor?) throws {
        let device = weight.device
        try weight.accumulateGradient { dW in
            try bias.accumulateGradient { dB in
                device.linearBackward(x: x, weight: weight.value, dy: dy, dx: dx, dWeight: dW, dBias: dB)
            }
        }
    }
}
