import Foundation
import NN

/// Per-dimension standardisation of representations with the training part's statistics:
/// x ↦ (x − mean) / std, as a BatchNorm without affine parameters in front of the probe (the
/// linear probe of MAE). An encoder's pooled representations can be nearly parallel (every
/// dimension a ReLU mean with a large common part; mean cosine 0.999 after short pretraining on
/// small sets) while their small differences carry the classes; standardising makes the probe
/// and the cosine kNN see those differences whatever the feature scale. Off by default (the
/// reference protocols read the raw features).
public struct FeatureStandardization: Sendable, Equatable {
    public let mean: [Float]
    /// 1 / std per dimension; 0 for a dimension that is constant over the training part (it
    /// carries nothing, and a test value off that constant would otherwise be scaled without bound).
    public let scale: [Float]
    public var dimension: Int { mean.count }

    /// Statistics of `set` (population std, as BatchNorm's normalisation).
    public init(fitting set: FeatureSet) {
        let d = set.dimension, n = set.count
        var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        set.values.withUnsafeBufferPointer { v in
            for r in 0..<n {
                let row = v.baseAddress! + r * d
                for j in 0..<d { sum[j] += Double(row[j]) }
            }
        }
        let mean = sum.map { $0 / Double(max(n, 1)) }
        set.values.withUnsafeBufferPointer { v in
            for r in 0..<n {
                let row = v.baseAddress! + r * d
                for j in 0..<d { let c = Double(row[j]) - mean[j]; squares[j] += c * c }
            }
        }
        let std = squares.map { ($0 / Double(max(n, 1))).squareRoot() }
        // "Constant" relative to the features' own size: below 1e-6 of the largest |mean| or std.
        let size = max(mean.map(abs).max() ?? 0, std.max() ?? 0)
        self.mean = mean.map(Float.init)
        scale = std.map { $0 > 1e-6 * size && $0 > 0 ? Float(1 / $0) : 0 }
    }

    /// `set` standardised with these statistics.
    public func apply(_ set: FeatureSet) -> FeatureSet {
        precondition(set.dimension == dimension, "standardisation of \(dimension) dimensions applied to \(set.dimension)")
        var out = set
        let d = dimension
        out.values.withUnsafeMutableBufferPointer { v in
            mean.withUnsafeBufferPointer { m in
                scale.withUnsafeBufferPointer { s in
                    for r in 0..<set.count {
                        let row = v.baseAddress! + r * d
                        for j in 0..<d { row[j] = (row[j] - m[j]) * s[j] }
                    }
                }
            }
        }
        return out
    }

    /// A linear layer W·z + b trained on standardised features z, folded into one that reads the raw
    /// features: W' = W·diag(scale), b' = b − W'·mean. `weight` is (classes, dimension) row-major.
    public func fold(weight: [Float], bias: [Float]) -> (weight: [Float], bias: [Float]) {
        let d = dimension, classes = bias.count
        precondition(weight.count == classes * d, "fc weight \(weight.count) vs \(classes) x \(d)")
        var w = weight, b = bias
        for c in 0..<classes {
            var shift = 0.0
            for j in 0..<d {
                w[c * d + j] *= scale[j]
                shift += Double(w[c * d + j]) * Double(mean[j])
            }
            b[c] = Float(Double(b[c]) - shift)
        }
        return (w, b)
    }

    /// `state` with its classifier (`fc.weight`, `fc.bias`) folded; other tensors unchanged.
    public func fold(state: [(name: String, tensor: HostTensor)]) -> [(name: String, tensor: HostTensor)] {
        guard let wi = state.firstIndex(where: { $0.name == "fc.weight" }), let bi = state.firstIndex(where: { $0.name == "fc.bias" }),
              case .float32(let w) = state[wi].tensor.storage, case .float32(let b) = state[bi].tensor.storage else { return state }
        let folded = fold(weight: w, bias: b)
        var out = state
        out[wi].tensor = HostTensor(shape: state[wi].tensor.shape, floats: folded.weight)
        out[bi].tensor = HostTensor(shape: state[bi].tensor.shape, floats: folded.bias)
        return out
    }
}
