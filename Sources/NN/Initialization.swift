import Compute

/// Seeded Gaussian draws for weight initialisation.
///
/// Draws are `RandomKey.gaussian` (Box-Muller on Philox-4x32-10) keyed by (seed, stream), so one
/// seed gives the same weights on every device and every run. Each tensor uses its own stream
/// (its position in the parameter list), so adding a layer does not shift the others.
public struct GaussianInitializer: Sendable {
    public var seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    /// Step word reserved for initialisation, so it never shares a block with dropout draws.
    static let domain: UInt32 = 0x494E_4954  // "INIT"

    /// `count` samples of N(mean, std²).
    public func normal(count: Int, mean: Float, std: Float, stream: UInt32) -> [Float] {
        let key = RandomKey(seed: seed, stream: stream, step: Self.domain)
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { buf in
            for i in 0..<count { buf[i] = mean + std * key.gaussian(i) }
        }
        return out
    }
}

/// How the reference `weights_init` treats one tensor.
public enum InitRule: Sendable, Equatable {
    /// Conv and Linear weights: N(0, 0.02²).
    case convWeight
    /// BatchNorm weights: N(1, 0.02²).
    case batchNormWeight
    /// Biases: 0.
    case zero
    /// Edge importance: 1.
    case one
}

extension Parameter {
    /// Writes the reference initial value for `rule`, drawing from `stream` of `initializer`.
    func initialize(_ rule: InitRule, initializer: GaussianInitializer, stream: UInt32) {
        let values: [Float]
        switch rule {
        case .convWeight: values = initializer.normal(count: count, mean: 0, std: 0.02, stream: stream)
        case .batchNormWeight: values = initializer.normal(count: count, mean: 1, std: 0.02, stream: stream)
        case .zero: device.fill(value, value: 0); return
        case .one: device.fill(value, value: 1); return
        }
        values.withUnsafeBufferPointer { device.upload($0, to: value) }
    }
}
