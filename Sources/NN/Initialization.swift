import Compute
import Foundation

/// Seeded Gaussian draws for weight initialisation.
///
/// Draws come from Philox-4x32-10 through the Box-Muller transform, keyed by (seed, stream), so
/// one seed gives the same weights on every device and every run. Each tensor uses its own
/// stream (its position in the parameter list), so adding a layer does not shift the others.
public struct GaussianInitializer: Sendable {
    public var seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    /// Tag in the fourth counter word, so initialisation never reuses a dropout or augmentation block.
    static let domain: UInt32 = 0x494E_4954  // "INIT"

    /// `count` samples of N(mean, std²).
    public func normal(count: Int, mean: Float, std: Float, stream: UInt32) -> [Float] {
        let philox = Philox4x32(seed: seed)
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { buf in
            var i = 0
            var counter: UInt32 = 0
            while i < count {
                let r = philox.block(counter, stream, 0, Self.domain)
                counter &+= 1
                // Two uniform doubles per block; u1 in (0, 1] keeps the log finite.
                let u1 = 1.0 - Philox4x32.unitDouble(r.0, r.1)
                let u2 = Philox4x32.unitDouble(r.2, r.3)
                let radius = (-2.0 * Foundation.log(u1)).squareRoot()
                let angle = 2.0 * Double.pi * u2
                buf[i] = mean + std * Float(radius * Foundation.cos(angle))
                if i + 1 < count { buf[i + 1] = mean + std * Float(radius * Foundation.sin(angle)) }
                i += 2
            }
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
