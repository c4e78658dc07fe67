import Foundation

/// Whether, on what and how often pretraining measures the kNN top-1 of its query encoder.
public struct KNNMonitorSettings: Sendable {
    public var enabled = true
    /// A folder holding `val_position.npy` and `val_label.pkl`; nil: the training data's own
    /// folder when it has a val part (otherwise no monitor).
    public var data: String?
    /// Measure every this many epochs (and after the last).
    public var every = 1
    /// At most this many samples of the memory bank and of the test part each.
    public var samples = 2048
    /// The `aimclr knn` defaults (`--monitor-k`, `--monitor-standardize` change them as
    /// `aimclr knn --k`, `--standardize-features` do).
    public var k = 200
    public var temperature: Float = 0.1
    public var standardize = false

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public func validate() throws {
        guard k >= 1 else { throw Invalid(description: "--monitor-k must be at least 1 (got \(k))") }
        guard every >= 1 else { throw Invalid(description: "--monitor-every must be at least 1 (got \(every))") }
        guard samples >= 1, samples <= 1 << 24 else {
            throw Invalid(description: "--monitor-samples must be in 1...\(1 << 24) (got \(samples))")
        }
        if let d = data, !Self.hasValPart(d) {
            throw Invalid(description: "--monitor-data \(d): no val_position.npy with val_label.pkl in that folder")
        }
    }

    static func hasValPart(_ folder: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: folder + "/val_position.npy") && fm.fileExists(atPath: folder + "/val_label.pkl")
    }

    /// The folder whose val part is the monitor's test set for training data at `dataPath`, or nil.
    public func folder(trainingData dataPath: String) -> String? {
        guard enabled else { return nil }
        if let d = data { return d }
        let own = (dataPath as NSString).deletingLastPathComponent
        return Self.hasValPart(own.isEmpty ? "." : own) ? (own.isEmpty ? "." : own) : nil
    }
}
