import Foundation

/// Pre-flight check of a pretraining recipe against its data: settings that make MoCo-style
/// training collapse or stall, each as one `note:` line before any iteration runs. The reference
/// recipe on NTU-sized data (K 32768, batch 128, lr 0.1, 300 epochs, ~40k samples) passes silently.
public enum RecipeCheck {
    /// The reference's learning rate per batch: base lr 0.1 at batch 128.
    public static let referenceLRPerSample = 0.1 / 128
    /// A batch-to-lr ratio this far (either way) from the reference's is noted.
    public static let lrScaleTolerance = 4.0

    /// The notes for `config` trained on `samples` training samples (empty when the recipe is sane).
    public static func notes(_ config: PretrainConfig, samples: Int) -> [String] {
        var notes: [String] = []
        let k = config.queueSize, b = config.batchSize
        if k >= samples {
            notes.append("note: queue K \(k) >= the \(samples) training samples: a sample's own older key sits in the queue "
                + "as a negative (and NNM mines it as a neighbour); use --queue-size below \(samples)")
        }
        if b > samples {
            notes.append("note: batch \(b) is larger than the \(samples) training samples; use --batch-size at most \(samples)")
        }
        let perEpochFull = b > 0 ? samples / b : 0
        let perEpoch = config.maxIterationsPerEpoch > 0 ? min(perEpochFull, config.maxIterationsPerEpoch) : perEpochFull
        let total = perEpoch * config.numEpoch
        let turnover = b > 0 ? k / b : 0
        if total < turnover {
            notes.append("note: the run has \(total) iterations, fewer than one queue turnover (K/B = \(k)/\(b) = \(turnover)): "
                + "most negatives stay "
                + (config.queueWarmup ? "keys of the untrained encoder" : "random vectors")
                + "; use a smaller --queue-size, more --epochs" + (config.queueWarmup ? "" : " or --queue-warmup"))
        }
        if b > 0, config.baseLR > 0 {
            let ratio = Double(config.baseLR) / Double(b) / referenceLRPerSample
            if ratio >= lrScaleTolerance || ratio <= 1 / lrScaleTolerance {
                let scaled = referenceLRPerSample * Double(b)
                notes.append(String(format: "note: lr %g at batch %d is %.3gx the reference's per-sample rate (0.1 at batch 128); "
                    + "linear scaling gives --base-lr %g", Double(config.baseLR), b, ratio, scaled))
            }
        }
        return notes
    }
}
