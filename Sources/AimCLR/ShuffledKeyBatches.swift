import Compute

/// MoCo's shuffling batch norm on one device: the key view is split into `splits` sub-batches
/// of random composition and the key encoder runs once per sub-batch, so each key is normalised
/// with the statistics of other samples than its query's batch. Without it the query and its
/// positive key share their batch statistics, and a small run can lower the loss by matching
/// that batch signature instead of the sample (see the README's small-data section).
struct ShuffledKeyBatches {
    let splits: Int
    let batch: Int
    let seed: UInt64

    var subBatch: Int { batch / splits }

    /// The permutation of the batch rows at `iteration`: sub-batch c holds rows
    /// `order[c·b ..< (c+1)·b]`. A Fisher–Yates shuffle keyed by (seed, iteration).
    func order(iteration: Int) -> [Int] {
        var idx = Array(0..<batch)
        let philox = Philox4x32(seed: seed ^ 0x5348_5546_464C_4542) // "SHUFFLEB"
        let step = UInt64(truncatingIfNeeded: iteration)
        for i in stride(from: batch - 1, to: 0, by: -1) {
            let r = philox.block(UInt32(truncatingIfNeeded: step), UInt32(truncatingIfNeeded: step >> 32), UInt32(i), 0x4B)
            idx.swapAt(i, Int(r.0 % UInt32(i + 1)))
        }
        return idx
    }

    /// Copies the samples `rows` of `source` (rows of `rowLength` floats) into `destination`.
    static func gather(_ source: UnsafeBufferPointer<Float>, rows: ArraySlice<Int>, rowLength: Int,
                       into destination: UnsafeMutableBufferPointer<Float>) {
        for (j, r) in rows.enumerated() {
            let from = source.baseAddress! + r * rowLength
            (destination.baseAddress! + j * rowLength).update(from: from, count: rowLength)
        }
    }
}
