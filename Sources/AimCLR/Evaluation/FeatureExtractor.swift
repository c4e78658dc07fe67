import Compute
import DataParallel
import Foundation
import NN
import Skeleton

/// Per-sample vectors computed by an encoder: the 256-d representations or the class logits,
/// (N, dimension) row-major on the host, with the labels and names of the samples.
public struct FeatureSet: Sendable {
    public var values: [Float]
    public var dimension: Int
    public var labels: [Int]
    public var names: [String]
    public var count: Int { labels.count }

    public init(values: [Float], dimension: Int, labels: [Int], names: [String]) {
        precondition(values.count == dimension * labels.count, "\(values.count) values vs \(labels.count) x \(dimension)")
        self.values = values; self.dimension = dimension; self.labels = labels; self.names = names
    }
}

/// Runs an encoder in eval mode (BN running statistics, no dropout) over a dataset part, in
/// order, batch by batch, on the encoder's device.
///
/// Under N ranks, rank r encodes the contiguous run of whole batches [r·B/N, (r+1)·B/N) of the
/// B batches one process would run, and the parts are all-gathered in rank order through host
/// memory: every rank ends with the one-process feature matrix, bit for bit on equal devices,
/// since eval mode makes each sample's output independent of the others and the batches are the
/// same ones.
public final class FeatureExtractor {
    public let encoder: STGCN
    public let batchSize: Int
    public let stream: SkeletonStream
    public let layout: SkeletonLayout
    /// Progress lines ("features val 12/40"); nil keeps quiet.
    public var progress: ProgressReporter?
    /// The ranks sharing the work; every rank must call the same extractions in the same order.
    public var collective: Collective = SingleProcess()

    public init(encoder: STGCN, batchSize: Int = 128, stream: SkeletonStream = .joint, layout: SkeletonLayout = .ntuRGBD,
                progress: ProgressReporter? = nil) {
        self.encoder = encoder; self.batchSize = batchSize; self.stream = stream; self.layout = layout
        self.progress = progress
    }

    public enum Output { case representation, logits }

    /// The pooled representations (N, hiddenDim).
    public func representations(of set: EvaluationSet, label: String = "features") throws -> FeatureSet {
        try run(set, output: .representation, label: label)
    }

    /// The classifier logits (N, numClass).
    public func logits(of set: EvaluationSet, label: String = "evaluating") throws -> FeatureSet {
        try run(set, output: .logits, label: label)
    }

    func run(_ set: EvaluationSet, output: Output, label: String) throws -> FeatureSet {
        let loader = try BatchLoader(data: set.positions, labels: set.labels, batchSize: batchSize, shuffle: false,
                                     dropLast: false, mode: .plain, stream: stream, layout: layout)
        let dim = output == .representation ? encoder.head.inFeatures : encoder.head.outFeatures
        let total = loader.batchCount
        let started = Date()
        var samplesDone = 0
        guard collective.size > 1 else {
            var values = [Float](repeating: 0, count: set.count * dim)
            for batch in loader.batches(epoch: 0) {
                try encode(batch, set: set, output: output, dim: dim, into: &values, at: batch.indices[0])
                samplesDone += batch.indices.count
                progress?.update("\(label) \(batch.index + 1)/\(total)  "
                    + ProgressReporter.rate(done: samplesDone, of: set.count, since: started, unit: "samples"))
            }
            return FeatureSet(values: values, dimension: dim, labels: set.labels, names: set.names)
        }
        let ranks = collective.size
        let parts = (0..<ranks).map { Self.samples(rank: $0, of: ranks, batches: total, batchSize: batchSize, count: set.count) }
        let mine = parts[collective.rank]
        let largest = parts.map(\.count).max() ?? 0
        // Equal message sizes for the all-gather: every part padded to the largest.
        var local = [Float](repeating: 0, count: largest * dim)
        let order = loader.order(epoch: 0)
        let batches = Self.batches(rank: collective.rank, of: ranks, batches: total)
        for b in batches {
            let batch = loader.makeBatch(epoch: 0, batch: b, order: order)
            try encode(batch, set: set, output: output, dim: dim, into: &local, at: batch.indices[0] - mine.lowerBound)
            samplesDone += batch.indices.count
            progress?.update("\(label) \(b + 1 - batches.lowerBound)/\(batches.count) (rank \(collective.rank) of \(ranks))  "
                + ProgressReporter.rate(done: samplesDone, of: mine.count, since: started, unit: "samples"))
        }
        let gathered = collective.allGather(local)
        var values = [Float](repeating: 0, count: set.count * dim)
        for (r, part) in parts.enumerated() where !part.isEmpty {
            let from = r * largest * dim
            values.replaceSubrange((part.lowerBound * dim)..<(part.upperBound * dim),
                                   with: gathered[from..<(from + part.count * dim)])
        }
        return FeatureSet(values: values, dimension: dim, labels: set.labels, names: set.names)
    }

    /// The batches rank `rank` of `ranks` encodes: a contiguous run, sizes differing by at most one.
    static func batches(rank: Int, of ranks: Int, batches: Int) -> Range<Int> {
        (rank * batches / ranks)..<((rank + 1) * batches / ranks)
    }

    /// The samples of those batches.
    static func samples(rank: Int, of ranks: Int, batches count: Int, batchSize: Int, count samples: Int) -> Range<Int> {
        let b = batches(rank: rank, of: ranks, batches: count)
        return min(b.lowerBound * batchSize, samples)..<min(b.upperBound * batchSize, samples)
    }

    /// Runs one batch and stores its outputs as rows `row ..< row + n` of `values`.
    private func encode(_ batch: SkeletonBatch, set: EvaluationSet, output: Output, dim: Int,
                        into values: inout [Float], at row: Int) throws {
        let n = batch.indices.count
        let device = encoder.device
        let geometry = InputGeometry(samples: n, channels: encoder.config.inChannels, frames: set.frames,
                                     joints: set.joints, persons: set.persons)
        let context = try encoder.context(geometry, requiresGrad: false, tag: 0x4556)
        batch.data.withUnsafeBufferPointer { device.upload($0, to: context.input) }
        let head = try encoder.forward(context.input, context: context, training: false)
        let source = output == .representation ? head.representation : head.output
        values.withUnsafeMutableBufferPointer { v in
            device.download(source, into: UnsafeMutableBufferPointer(rebasing: v[(row * dim)..<((row + n) * dim)]))
        }
        try device.checkErrors()
    }
}
