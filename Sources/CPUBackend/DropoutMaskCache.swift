import Compute

/// Dropout masks kept from a forward for the backward with the same key.
///
/// A mask is a pure function of (key, element index, p), so the backward could regenerate
/// it, but ten Philox rounds per four elements cost far more than reading one byte per four
/// elements back. The forward records, per Philox block, a byte whose bit j says whether
/// element 4·block + j is kept; the backward with an identical (key, count, p) uses it and
/// releases it. Forwards without a backward (no-gradient passes) leave entries behind, so the
/// cache drops the entries of other steps whenever it records one, holds at most
/// `budgetBytes`, and drops its oldest entries first. A missing entry only
/// means the backward regenerates the mask: the result is the same bit for bit.
final class DropoutMaskCache {
    struct Key: Equatable {
        var key: RandomKey
        var count: Int
        var cut: UInt32
    }

    private struct Entry {
        var key: Key
        var bytes: UnsafeMutablePointer<UInt8>
        var size: Int
    }

    /// Oldest first.
    private var entries: [Entry] = []
    private var heldBytes = 0
    let budgetBytes: Int

    init(budgetBytes: Int = 512 << 20) {
        self.budgetBytes = budgetBytes
    }

    /// A fresh buffer of `size` bytes to fill for `key` (replacing any entry with that key),
    /// or nil when it exceeds the whole budget.
    func record(_ key: Key, size: Int) -> UnsafeMutablePointer<UInt8>? {
        guard size > 0, size <= budgetBytes else { return nil }
        // Entries of other steps (earlier iterations' no-gradient passes) are dead weight.
        while let i = entries.firstIndex(where: { $0.key == key || $0.key.key.step != key.key.step }) {
            release(at: i)
        }
        while heldBytes + size > budgetBytes, !entries.isEmpty { release(at: 0) }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        entries.append(Entry(key: key, bytes: p, size: size))
        heldBytes += size
        return p
    }

    /// Runs `body` with the recorded mask for `key`, if any, then releases it.
    /// Returns false (without calling `body`) when there is none.
    func consume(_ key: Key, _ body: (UnsafePointer<UInt8>) -> Void) -> Bool {
        guard let i = entries.firstIndex(where: { $0.key == key }) else { return false }
        body(entries[i].bytes)
        release(at: i)
        return true
    }

    private func release(at i: Int) {
        let e = entries.remove(at: i)
        heldBytes -= e.size
        e.bytes.deallocate()
    }

    deinit {
        for e in entries { e.bytes.deallocate() }
    }
}
