/// The per-epoch `"type": "health"` record of `log.jsonl`: the embedding statistics of the
/// epoch's last batch, the kNN top-1 when measured, and whether they say the run collapsed.
struct HealthRecord: Encodable {
    var type = "health"
    var epoch: Int
    var alignment: Double, uniformity: Double, dimensionStd: Double
    var positiveLogit: Double, negativeLogit: Double
    /// 0.2/√d: below it the embeddings count as collapsed.
    var dimensionStdThreshold: Double
    var knnTop1: Double?
    /// Effective rank of the monitor's memory-bank representations (`RepresentationRank`).
    var representationRank: Double?
    /// Whether that rank fell below a quarter of the untrained encoder's (nil: not measured).
    var representationCollapse: Bool?
    var knnSamples: [Int]?
    var monitorSeconds: Double?
    /// The projections look collapsed (`CollapseDetector.verdict`; the reason is `collapseReason`).
    var projectionCollapse: Bool
    /// The run counts as collapsed: the projections did and the kNN monitor does not show a
    /// backbone that kept its rank and its kNN top-1 (`CollapseAssessment`).
    var collapse: Bool
    var collapseReason: String?
}

/// The `"type": "monitor"` record of `log.jsonl` written before the first update of a fresh run:
/// the kNN top-1 of the untrained query encoder (epoch 0).
struct UntrainedMonitorRecord: Encodable {
    var type = "monitor"
    var epoch = 0
    var knnTop1: Double
    var representationRank: Double
    var knnSamples: [Int]
    var monitorSeconds: Double
}
