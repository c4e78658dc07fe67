import Compute

/// A trainable tensor with its gradient and (once the optimiser has stepped) its momentum buffer.
///
/// Gradients accumulate: `zeroGradient()` marks the gradient as empty, the first backward that
/// touches the parameter overwrites it, later backwards add to it (through a scratch tensor,
/// because the device ops overwrite their weight gradients). This lets the query encoder run
/// two forward contexts (normal and extreme view) and sum both backwards without an extra fill.
public final class Parameter {
    /// Full state-dict name relative to the encoder, e.g. `st_gcn_networks.3.tcn.2.weight`.
    public let name: String
    public let value: Tensor
    /// Gradient of the loss; meaningful only when `hasGradient` is true.
    public let gradient: Tensor
    /// SGD momentum buffer, allocated by the optimiser on its first step.
    public var momentumBuffer: Tensor?
    /// Frozen parameters get no gradient from backward and are skipped by the optimiser.
    public var trainable: Bool = true
    /// True once a backward has written the gradient since the last `zeroGradient()`.
    public internal(set) var hasGradient: Bool = false
    /// Where a second (third, …) backward writes before it is added into `gradient`.
    private var scratch: Tensor?

    /// How the reference `weights_init` initialises this tensor.
    public let initRule: InitRule

    public init(name: String, value: Tensor, initRule: InitRule) throws {
        self.name = name
        self.value = value
        self.initRule = initRule
        self.gradient = try value.device.makeTensor(value.shape)
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }
    public var device: Device { value.device }

    /// Marks the gradient as zero (no device work).
    public func zeroGradient() { hasGradient = false }

    /// Makes the gradient an explicit zero tensor (for code that reads it directly).
    public func materializeZeroGradient() {
        device.fill(gradient, value: 0)
        hasGradient = true
    }

    /// Runs `write` with the tensor a backward op should overwrite with this step's gradient
    /// contribution, then folds it into `gradient`. A frozen parameter gets a throw-away target,
    /// because fused ops (a graph convolution's backward) write several gradients at once.
    public func accumulateGradient(_ write: (Tensor) throws -> Void) throws {
        if !trainable {
            try write(try scratchTensor())
            return
        }
        if !hasGradient {
            try write(gradient)
            hasGradient = true
            return
        }
        let s = try scratchTensor()
        try write(s)
        device.axpby(alpha: 1, x: s, beta: 1, y: gradient)
    }

    private func scratchTensor() throws -> Tensor {
        if let s = scratch { return s }
        let s = try device.makeTensor(value.shape)
        scratch = s
        return s
    }
}

/// A non-trainable float state tensor saved in checkpoints (BatchNorm running statistics).
public final class StateBuffer {
    /// Full state-dict name relative to the encoder, e.g. `data_bn.running_mean`.
    public let name: String
    public let value: Tensor
    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
    }
}

/// A host-side integer saved as an I64 scalar (PyTorch's `num_batches_tracked`).
public final class Counter {
    public let name: String
    public var value: Int64 = 0
    public init(name: String) { self.name = name }
}

/// Something that owns parameters and state. Every layer is built with the name prefix it has in
/// the reference PyTorch module tree, so names are final state-dict keys (relative to the encoder).
public protocol Module: AnyObject {
    /// Parameters in registration order (the order of PyTorch's `named_parameters()`).
    var parameters: [Parameter] { get }
    /// Float state buffers (running_mean, running_var).
    var buffers: [StateBuffer] { get }
    /// Integer counters (num_batches_tracked).
    var counters: [Counter] { get }
}

extension Module {
    public var buffers: [StateBuffer] { [] }
    public var counters: [Counter] { [] }

    /// Total number of parameter elements (what `sum(p.numel() for p in model.parameters())` counts).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Clears all gradients (see `Parameter.zeroGradient`).
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }

    /// Sets every parameter's `trainable` flag.
    public func setTrainable(_ flag: Bool) { for p in parameters { p.trainable = flag } }

    /// Parameter by its full name.
    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
}

/// Joins a name prefix and a leaf name with a dot.
func joinName(_ prefix: String, _ leaf: String) -> String {
    prefix.isEmpty ? leaf : prefix + "." + leaf
}
