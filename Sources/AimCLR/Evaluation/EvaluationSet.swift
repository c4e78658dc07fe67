import Foundation
import Skeleton

/// A labelled part of a dataset as the evaluation protocols consume it: `(N, 3, T, V, M)`
/// positions, 0-based labels and sample names (names line up logits files for ensembling).
public struct EvaluationSet: Sendable {
    public var positions: NpyArray
    public var labels: [Int]
    public var names: [String]
    /// Where it came from, e.g. "data/ntu60/xsub val".
    public var source: String

    public init(positions: NpyArray, labels: [Int], names: [String], source: String) throws {
        guard positions.shape.count == 5, positions.shape[1] == 3 else {
            throw EvaluationError.shape(what: source, detail: "expected an (N, 3, T, V, M) array, got \(positions.shape)")
        }
        guard positions.shape[0] == labels.count, labels.count == names.count else {
            throw EvaluationError.shape(what: source, detail: "\(positions.shape[0]) samples, \(labels.count) labels, \(names.count) names")
        }
        self.positions = positions; self.labels = labels; self.names = names; self.source = source
    }

    /// `directory/{part}_position.npy` with `directory/{part}_label.pkl`.
    public static func open(directory: String, part: DataPart) throws -> EvaluationSet {
        let d = try SkeletonDataset.open(directory: directory, part: part)
        return try EvaluationSet(positions: d.positions, labels: d.labels.labels, names: d.labels.names,
                                 source: "\(directory) \(part.rawValue)")
    }

    /// Refuses data whose joint count differs from `layout`'s, before any encoder is built
    /// (the encoder's graph and the loader's streams both assume the layout's joints).
    public func requireJoints(of layout: SkeletonLayout) throws {
        guard joints == layout.jointCount else {
            throw EvaluationError.shape(what: positions.source, detail: "the data has \(joints) joints per body but the layout "
                + "\(layout.name) has \(layout.jointCount); pass --layout matching the data (e.g. kinect-v1 for 20 joints)")
        }
    }

    public var count: Int { labels.count }
    public var classCount: Int { (labels.max() ?? -1) + 1 }
    /// T, V, M.
    public var frames: Int { positions.shape[2] }
    public var joints: Int { positions.shape[3] }
    public var persons: Int { positions.shape[4] }

    /// The samples at `indices` (in that order), copied into memory.
    public func subset(_ indices: [Int], source suffix: String) throws -> EvaluationSet {
        let per = positions.rowCount
        var values = [Float](repeating: 0, count: indices.count * per)
        values.withUnsafeMutableBufferPointer { out in
            for (i, idx) in indices.enumerated() {
                positions.copyFloats(from: idx * per, count: per, into: out.baseAddress! + i * per)
            }
        }
        var shape = positions.shape
        shape[0] = indices.count
        return try EvaluationSet(positions: NpyArray(shape: shape, floats: values), labels: indices.map { labels[$0] },
                                 names: indices.map { names[$0] }, source: source + " " + suffix)
    }
}
