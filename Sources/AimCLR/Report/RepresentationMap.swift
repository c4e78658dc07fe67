import Foundation
import Skeleton

/// A t-SNE map of test representations, with how well it keeps each sample's class neighbours.
public struct RepresentationMap: Sendable {
    /// (count, 2) row-major.
    public var coordinates: [Double]
    public var labels: [Int]
    /// Samples before subsampling.
    public var total: Int
    public var dimension: Int
    public var method: String
    public var perplexity: Double
    public var seed: UInt64
    /// Mean share of each point's 5 nearest neighbours with its class: in the plane, and among
    /// the (L2-normalised) representations themselves.
    public var agreementInPlane: Double
    public var agreementInRepresentation: Double
    public static let agreementNeighbours = 5

    /// Maps the (count, dimension) `values`, L2-normalised first (the kNN protocol compares by
    /// cosine), using a seeded random subset of at most `maximumPoints` samples.
    public static func compute(values: [Float], dimension d: Int, labels: [Int], maximumPoints: Int, tsne: TSNE) -> RepresentationMap {
        let n = labels.count
        var chosen = Array(0..<n)
        if n > maximumPoints {
            var random = SplitMix64(seed: tsne.seed ^ 0x5EED)
            for i in stride(from: n - 1, to: 0, by: -1) { chosen.swapAt(i, Int(random.next() % UInt64(i + 1))) }
            chosen = Array(chosen.prefix(max(maximumPoints, 2))).sorted()
        }
        var subset = [Float](repeating: 0, count: chosen.count * d)
        values.withUnsafeBufferPointer { v in
            subset.withUnsafeMutableBufferPointer { s in
                for (row, i) in chosen.enumerated() {
                    var norm: Float = 0
                    for c in 0..<d { norm += v[i * d + c] * v[i * d + c] }
                    let scale = norm > 0 ? 1 / norm.squareRoot() : 0
                    for c in 0..<d { s[row * d + c] = v[i * d + c] * scale }
                }
            }
        }
        let subsetLabels = chosen.map { labels[$0] }
        let y = tsne.embed(subset, count: chosen.count, dimension: d)
        let k = agreementNeighbours
        return RepresentationMap(
            coordinates: y, labels: subsetLabels, total: n, dimension: d,
            method: tsne.usesBarnesHut(count: chosen.count) ? "Barnes–Hut (θ = \(tsne.theta))" : "exact",
            perplexity: min(tsne.perplexity, max(1, Double(chosen.count - 1) / 3)), seed: tsne.seed,
            agreementInPlane: EmbeddingQuality.neighbourAgreement(points: y, dimension: 2, labels: subsetLabels, k: k),
            agreementInRepresentation: EmbeddingQuality.neighbourAgreement(points: subset.map(Double.init), dimension: d,
                                                                           labels: subsetLabels, k: k))
    }

    /// Reads an (N, D) `.npy` (what `aimclr embed` writes) and the label pickle of the same samples.
    public static func readInputs(embeddings: String, labels: String) throws -> (values: [Float], dimension: Int, labels: [Int]) {
        let array = try NpyArray.read(embeddings)
        guard array.shape.count == 2, array.shape[0] > 0, array.shape[1] > 0 else {
            throw ReportError(file: embeddings, detail: "expected an (N, D) array as `aimclr embed` writes, found shape \(array.shape)")
        }
        let values = array.floats()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ReportError(file: embeddings, detail: "row \(bad / array.shape[1]) holds NaN or infinite values")
        }
        let file = try LabelFile.read(labels)
        guard file.labels.count == array.shape[0] else {
            throw ReportError(file: labels, detail: "\(file.labels.count) labels for the \(array.shape[0]) rows of \(embeddings)")
        }
        if let bad = file.labels.firstIndex(where: { $0 < 0 || $0 > 100_000 }) {
            throw ReportError(file: labels, detail: "label \(file.labels[bad]) of sample \(bad) is out of range")
        }
        return (values, array.shape[1], file.labels)
    }
}
