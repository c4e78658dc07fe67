import Compute
import Foundation

/// The labelled subset of semi-supervised evaluation (`Feeder_semi`, spec §5.5): for each class
/// c with n_c training samples, round(p·n_c) of them, where round is Python's `round` (half to
/// even, on the same double product), drawn without replacement; the union is returned sorted.
///
/// The reference draws with Python's `random.sample` under seed 0; this draws with a
/// Philox-4x32-10 partial Fisher–Yates keyed by (seed, class), so the counts per class match
/// the reference exactly and the choice is reproducible, but not the same samples.
public enum LabelSampler {
    /// round(p·n) with ties to even, as Python 3's `round(p * n)`.
    public static func count(fraction p: Double, classSize n: Int) -> Int {
        Int((p * Double(n)).rounded(.toNearestOrEven))
    }

    /// Sorted dataset indices of the labelled subset.
    public static func sample(labels: [Int], fraction p: Double, seed: UInt64) throws -> [Int] {
        guard p > 0, p <= 1 else {
            throw EvaluationError.invalidSetting(name: "label fraction", detail: "must be in (0, 1], got \(p)")
        }
        var byClass: [Int: [Int]] = [:]
        for (i, l) in labels.enumerated() { byClass[l, default: []].append(i) }
        var chosen: [Int] = []
        for c in byClass.keys.sorted() {
            var members = byClass[c]!
            let k = count(fraction: p, classSize: members.count)
            let key = Philox4x32(seed: seed)
            // Partial Fisher–Yates: position i swaps with a uniform j in [i, n).
            for i in 0..<k {
                let r = key.block(UInt32(truncatingIfNeeded: c), UInt32(i), 0x4C41_4245, 0).0
                let j = i + Int((UInt64(r) * UInt64(members.count - i)) >> 32)
                members.swapAt(i, j)
            }
            chosen.append(contentsOf: members.prefix(k))
        }
        return chosen.sorted()
    }
}
