import Foundation
import Skeleton

/// A scan of the training array for NaN and infinite values, run before training starts.
///
/// One bad coordinate turns every loss it reaches into NaN, many iterations later and far from
/// its cause; scanning the memory-mapped array once up front names the samples instead.
public enum DataScan {
    public struct NonFiniteSamples: Error, CustomStringConvertible {
        public var file: String
        /// Dataset index and sample name of each bad sample.
        public var samples: [(index: Int, name: String)]
        /// What the user can do about it.
        public var remedy = "fix the data or pass --skip-bad-samples to train without them"

        public init(file: String, samples: [(index: Int, name: String)]) {
            self.file = file; self.samples = samples
        }

        public var description: String {
            let shown = samples.prefix(10).map { "\($0.name) (index \($0.index))" }.joined(separator: ", ")
            let more = samples.count > 10 ? " and \(samples.count - 10) more" : ""
            return "\(file): \(samples.count) sample(s) hold NaN or infinite values: \(shown)\(more); \(remedy)"
        }
    }

    /// Refuses an evaluation input holding NaN or infinite values: they would turn its features,
    /// and through the classifier every score, into NaN without saying where they came from.
    public static func requireFinite(_ data: NpyArray, names: [String]? = nil) throws {
        let bad = nonFiniteRows(data)
        guard !bad.isEmpty else { return }
        var e = NonFiniteSamples(file: data.source, samples: bad.map { ($0, names?[$0] ?? "sample \($0)") })
        e.remedy = "fix the data before evaluating it"
        throw e
    }

    /// Indices of the outer rows of `data` that hold a non-finite value.
    public static func nonFiniteRows(_ data: NpyArray) -> [Int] {
        guard let n = data.shape.first, n > 0 else { return [] }
        let perRow = data.rowCount
        var bad: [Int] = []
        var row = [Float](repeating: 0, count: perRow)
        row.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            for i in 0..<n {
                data.copyFloats(from: i * perRow, count: perRow, into: p)
                var k = 0
                while k < perRow, p[k].isFinite { k += 1 }
                if k < perRow { bad.append(i) }
            }
        }
        return bad
    }

    /// `data` and `labels` without the rows in `bad` (sorted), copied into memory.
    public static func dropping(_ bad: [Int], from data: NpyArray, labels: [Int]) -> (NpyArray, [Int]) {
        let skip = Set(bad)
        let perRow = data.rowCount
        let keep = (0..<data.shape[0]).filter { !skip.contains($0) }
        var values = [Float](repeating: 0, count: keep.count * perRow)
        values.withUnsafeMutableBufferPointer { buf in
            for (j, i) in keep.enumerated() { data.copyFloats(from: i * perRow, count: perRow, into: buf.baseAddress! + j * perRow) }
        }
        var shape = data.shape
        shape[0] = keep.count
        return (NpyArray(shape: shape, floats: values), keep.map { labels[$0] })
    }
}
