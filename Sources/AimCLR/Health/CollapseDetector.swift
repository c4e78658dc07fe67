import Foundation

/// Decides when the embeddings have collapsed onto (nearly) one point, from two signs:
/// - the per-dimension std of the normalised queries below 0.2/√d (spread embeddings give about 1/√d);
/// - InfoNCE within 1 % of ln(K + 1), the loss of a query that cannot tell its key from K
///   negatives, at every iteration of a whole queue turnover (K/B iterations), so a queue still
///   holding older keys cannot fake it.
public struct CollapseDetector: Sendable {
    public static let stdFraction = 0.2
    public static let chanceTolerance = 0.01

    public let queueSize: Int
    public let batchSize: Int
    /// InfoNCE losses of the latest consecutive InfoNCE iterations (at most one turnover).
    private(set) var recent: [Float] = []

    public init(queueSize: Int, batchSize: Int) {
        self.queueSize = queueSize; self.batchSize = batchSize
    }

    /// Iterations in which the queue is replaced once.
    public var turnover: Int { max(1, queueSize / max(1, batchSize)) }
    /// ln(K + 1): InfoNCE when the positive logit is no larger than the negatives.
    public var chanceLoss: Double { log(Double(queueSize) + 1) }

    public static func stdThreshold(dimension d: Int) -> Double { stdFraction / Double(max(1, d)).squareRoot() }

    /// Records one iteration's contrastive loss; NNM iterations (another loss) clear the window.
    public mutating func record(contrastive loss: Float, infoNCE: Bool) {
        guard infoNCE else { recent.removeAll(); return }
        recent.append(loss)
        if recent.count > turnover { recent.removeFirst(recent.count - turnover) }
    }

    /// Every loss of the last full turnover within 1 % of ln(K + 1).
    public var lossAtChance: Bool {
        recent.count >= turnover && recent.allSatisfy { abs(Double($0) - chanceLoss) <= Self.chanceTolerance * chanceLoss }
    }

    /// Why the embeddings look collapsed, or nil when they do not.
    public func verdict(_ health: EmbeddingHealth, dimension d: Int) -> String? {
        var signs: [String] = []
        let threshold = Self.stdThreshold(dimension: d)
        if health.dimensionStd < threshold {
            signs.append(String(format: "per-dimension std %.3g < 0.2/sqrt(%d) = %.3g", health.dimensionStd, d, threshold))
        }
        if lossAtChance {
            signs.append(String(format: "InfoNCE within 1%% of ln(K+1) = %.3f for %d iterations (one queue turnover)", chanceLoss, turnover))
        }
        return signs.isEmpty ? nil : signs.joined(separator: "; ")
    }

    /// The one-line warning for a verdict: the likely causes and the settings to change.
    public static func warning(epoch: Int, reason: String) -> String {
        "warning: epoch \(epoch): the embeddings have collapsed (\(reason)); likely causes: a queue of stale or random keys, "
            + "too high a learning rate, K too large for the data set or a key encoder that lags; try --queue-warmup, "
            + "a lower --base-lr, a smaller --queue-size (well below the training-set size) or a lower --momentum. "
            + "The projections can collapse while the backbone keeps useful features: read the kNN monitor, and evaluate "
            + "with `aimclr linear --standardize-features` against a random encoder of the same widths"
    }
}
