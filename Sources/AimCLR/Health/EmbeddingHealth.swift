import Foundation

/// How spread out and how well aligned the normalised embeddings of a batch are (Wang & Isola
/// 2020), with the contrastive logits they give: the signs of collapse a falling loss can hide.
public struct EmbeddingHealth: Codable, Sendable, Equatable {
    /// Mean ‖q_i − k_i‖² over the batch's positive pairs (0 = identical views, 4 = opposite).
    public var alignment: Double
    /// log of the mean exp(−2‖q_i − q_j‖²) over the batch's pairs i < j (0 at collapse, lower is more uniform).
    public var uniformity: Double
    /// Per-dimension standard deviation of q over the batch, averaged over dimensions (about
    /// 1/√d for embeddings spread over the sphere, 0 at collapse).
    public var dimensionStd: Double
    /// Mean logit q·k / τ of the positive key.
    public var positiveLogit: Double
    /// Mean logit q·queue / τ over the negatives.
    public var negativeLogit: Double

    /// - Parameters:
    ///   - query, key: (rows, dimension) row-major unit-norm embeddings of the same samples.
    ///   - logits: (rows, 1 + negatives) row-major, column 0 the positive.
    public static func measure(query: [Float], key: [Float], rows n: Int, dimension d: Int,
                               logits: [Float], negatives: Int) -> EmbeddingHealth {
        guard n > 0, d > 0, query.count >= n * d, key.count >= n * d else {
            return EmbeddingHealth(alignment: 0, uniformity: 0, dimensionStd: 0, positiveLogit: 0, negativeLogit: 0)
        }
        var align = 0.0
        for i in 0..<n {
            for j in 0..<d {
                let diff = Double(query[i * d + j]) - Double(key[i * d + j])
                align += diff * diff
            }
        }
        var pairSum = 0.0, pairs = 0
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                var dist = 0.0
                for c in 0..<d {
                    let diff = Double(query[i * d + c]) - Double(query[j * d + c])
                    dist += diff * diff
                }
                pairSum += exp(-2 * dist)
                pairs += 1
            }
        }
        var stdSum = 0.0
        for c in 0..<d {
            var mean = 0.0
            for i in 0..<n { mean += Double(query[i * d + c]) }
            mean /= Double(n)
            var variance = 0.0
            for i in 0..<n {
                let x = Double(query[i * d + c]) - mean
                variance += x * x
            }
            stdSum += (variance / Double(n)).squareRoot()
        }
        let width = 1 + negatives
        var positive = 0.0, negative = 0.0
        if negatives >= 0, logits.count >= n * width {
            for i in 0..<n {
                positive += Double(logits[i * width])
                for j in 1..<width { negative += Double(logits[i * width + j]) }
            }
        }
        return EmbeddingHealth(alignment: align / Double(n),
                               uniformity: pairs > 0 ? log(pairSum / Double(pairs)) : 0,
                               dimensionStd: stdSum / Double(d),
                               positiveLogit: positive / Double(n),
                               negativeLogit: negatives > 0 ? negative / Double(n * negatives) : 0)
    }
}
