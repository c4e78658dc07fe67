/// Where a data-parallel rank's part of an activation sits in the whole batch's, so that its
/// dropout mask is the whole batch's mask restricted to its samples (independent of the split).
///
/// The activation is read as (outer, samples, inner) — channel-major (C, N, T·V) has outer C and
/// inner T·V; frame-major (C, T, N, V) outer C·T and inner V — and the whole batch's as
/// (outer, globalSamples, inner), this part's samples starting at `offset`. Local element
/// (o, s, j) draws the random number of global element (o·globalSamples + offset + s)·inner + j.
/// The whole batch itself (offset 0, samples == globalSamples) draws exactly as without a slice.
public struct DropoutSampleSlice: Sendable, Equatable, CustomStringConvertible {
    public var samples: Int
    public var globalSamples: Int
    public var offset: Int
    public var inner: Int

    public init(samples: Int, globalSamples: Int, offset: Int, inner: Int) {
        self.samples = samples; self.globalSamples = globalSamples; self.offset = offset; self.inner = inner
    }

    /// The same index map as no slice at all.
    public var isWhole: Bool { offset == 0 && samples == globalSamples }

    /// `slice` when it is a rank's part of the batch; nil for none or the whole batch, which
    /// draw the plain mask (the backends' unsliced path).
    public static func part(of slice: DropoutSampleSlice?) -> DropoutSampleSlice? {
        slice.flatMap { $0.isWhole ? nil : $0 }
    }

    /// Inverted dropout's factor on kept elements: 1 / (1 − p), 0 at p = 1.
    public static func keptScale(p: Float) -> Float { p < 1 ? 1 / (1 - p) : 0 }

    /// The global element index of local element `i`.
    @inline(__always)
    public func globalIndex(_ i: Int) -> Int {
        let row = samples * inner
        let o = i / row, rest = i - o * row
        return (o * globalSamples + offset) * inner + rest
    }

    public var description: String {
        "samples \(offset) ..< \(offset + samples) of \(globalSamples), inner \(inner)"
    }
}
