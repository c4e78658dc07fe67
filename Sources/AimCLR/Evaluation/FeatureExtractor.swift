import Compute
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
public final class FeatureExtractor {
    public let encoder: STGCN
    public let batchSize: Int
    public let stream: SkeletonStream
    public let layout: SkeletonLayout
    /// Progress lines ("features val 12/40"); nil keeps quiet.
    public var progress: ProgressReporter?

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
        var values = [Float](repeating: 0, count: set.count * dim)
        let device = encoder.device
        let total = loader.batchCount
        let started = Date()
        var samplesDone = 0
        for batch in loader.batches(epoch: 0) {
            let n = batch.indices.count
            let geometry = InputGeometry(samples: n, channels: encoder.config.inChannels, frames: set.frames,
                                         joints: set.joints, persons: set.persons)
            let context = try encoder.context(geometry, requiresGrad: false, tag: 0x4556)
            batch.data.withUnsafeBufferPointer { device.upload($0, to: context.input) }
            let head = try encoder.forward(context.input, context: context, training: false)
            let source = output == .representation ? head.representation : head.output
            let start = batch.indices[0]
            values.withUnsafeMutableBufferPointer { v in
                device.download(source, into: UnsafeMutableBufferPointer(rebasing: v[(start * dim)..<((start + n) * dim)]))
            }
            try device.checkErrors()
            samplesDone += n
            progress?.update("\(label) \(batch.index + 1)/\(total)  "
                + ProgressReporter.rate(done: samplesDone, of: set.count, since: started, unit: "samples"))
        }
        return FeatureSet(values: values, dimension: dim, labels: set.labels, names: set.names)
    }
}
