import Compute

/// Geometry of one encoder input batch `(N, C, T, V, M)`.
public struct InputGeometry: Hashable, Sendable, CustomStringConvertible {
    public var samples: Int
    public var channels: Int
    public var frames: Int
    public var joints: Int
    public var persons: Int
    public init(samples: Int, channels: Int, frames: Int, joints: Int, persons: Int) {
        self.samples = samples; self.channels = channels; self.frames = frames
        self.joints = joints; self.persons = persons
    }
    /// (N, C, T, V, M), the layout of the data files and of the reference network input.
    public var shape: [Int] { [samples, channels, frames, joints, persons] }
    public var count: Int { samples * channels * frames * joints * persons }
    /// The channel-major activation after persons are folded into the batch.
    public var activation: ActivationShape {
        ActivationShape(channels: channels, batch: samples * persons, frames: frames, joints: joints)
    }
    public var description: String { "(N \(samples), C \(channels), T \(frames), V \(joints), M \(persons))" }
}

/// The encoder's `data_bn`: BatchNorm1d over V·C channels with index v·C + c, shared by both
/// persons (spec §2.4), followed by the fold of persons into the batch.
///
/// Input (N, C, T, V, M) → permute to (V, C, N, M, T) = channel-major (V·C, N·M, T) → BN →
/// permute to (C, N, M, T, V) = channel-major (C, N·M, T, V).
public final class DataBatchNorm: Module {
    public let bn: BatchNorm
    public let inChannels: Int
    public let joints: Int

    public init(device: Device, inChannels: Int, joints: Int, name: String) throws {
        self.inChannels = inChannels
        self.joints = joints
        bn = try BatchNorm(device: device, channels: inChannels * joints, name: name)
    }

    public var parameters: [Parameter] { bn.parameters }
    public var buffers: [StateBuffer] { bn.buffers }
    public var counters: [Counter] { bn.counters }

    /// What one forward keeps for its backward.
    final class Activations {
        let geometry: InputGeometry
        /// (V, C, N, M, T): the BN input.
        let permuted: Tensor
        /// (V, C, N, M, T): the BN output, scratch.
        let normalized: Tensor
        /// (C, N·M, T, V): the block-1 input.
        let output: Tensor
        let saved: BatchNorm.Saved
        init(device: Device, geometry g: InputGeometry, bn: BatchNorm) throws {
            geometry = g
            permuted = try device.makeTensor([g.joints, g.channels, g.samples, g.persons, g.frames])
            normalized = try device.makeTensor([g.joints, g.channels, g.samples, g.persons, g.frames])
            output = try device.makeTensor(g.activation.dims)
            saved = try bn.makeSaved()
        }
    }

    /// Gradient scratch shared by every context of one geometry.
    final class Gradients {
        let dNormalized: Tensor
        let dPermuted: Tensor
        /// (N, C, T, V, M): gradient of the encoder input.
        let dInput: Tensor
        init(device: Device, geometry g: InputGeometry) throws {
            dNormalized = try device.makeTensor([g.joints, g.channels, g.samples, g.persons, g.frames])
            dPermuted = try device.makeTensor([g.joints, g.channels, g.samples, g.persons, g.frames])
            dInput = try device.makeTensor(g.shape)
        }
    }

    func forward(input: Tensor, activations a: Activations, training: Bool) {
        let g = a.geometry
        let device = bn.weight.device
        // (N, C, T, V, M) → (V, C, N, M, T)
        device.permute(x: input, shape: g.shape, perm: [3, 1, 0, 4, 2], y: a.permuted)
        bn.forward(x: a.permuted, y: a.normalized, saved: a.saved, training: training)
        // (V, C, N, M, T) → (C, N, M, T, V)
        device.permute(x: a.normalized, shape: [g.joints, g.channels, g.samples, g.persons, g.frames],
                       perm: [1, 2, 3, 4, 0], y: a.output)
    }

    /// Returns the gradient of the input (N, C, T, V, M), held in `grads.dInput`.
    func backward(activations a: Activations, dOutput: Tensor, grads: Gradients) throws {
        let g = a.geometry
        let device = bn.weight.device
        // (C, N, M, T, V) → (V, C, N, M, T)
        device.permute(x: dOutput, shape: [g.channels, g.samples, g.persons, g.frames, g.joints],
                       perm: [4, 0, 1, 2, 3], y: grads.dNormalized)
        try bn.backward(x: a.permuted, dy: grads.dNormalized, dx: grads.dPermuted, saved: a.saved)
        // (V, C, N, M, T) → (N, C, T, V, M)
        device.permute(x: grads.dPermuted, shape: [g.joints, g.channels, g.samples, g.persons, g.frames],
                       perm: [2, 1, 4, 0, 3], y: grads.dInput)
    }
}
