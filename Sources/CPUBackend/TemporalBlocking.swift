/// Block sizes for the temporal convolution.
///
/// With few output channels the im2col GEMM does only 2·Cout flops per column element it
/// reads, so it is bound by memory traffic: building a block of columns and multiplying it
/// while it is still in cache (and folding the column gradient back the same way) saves a
/// round trip through memory. With many output channels the GEMM is bound by arithmetic,
/// and splitting it only adds packing overhead, so the batch stays one block.
public struct TemporalBlocking: Sendable, Equatable {
    /// Layers with more output channels than this run as one block.
    public var maximumOutputChannels: Int
    /// Target size of one block of columns, in floats (about the L2 cache).
    public var targetFloats: Int
    /// Narrowest block, in columns, so that each GEMM stays efficient.
    public var minimumColumns: Int

    /// Column-gradient scratch, in floats, that a layer run as one block folds back onto dx at
    /// a time (whole samples, at least one): bounds the backward's scratch at about 32 MB.
    public var wideScratchFloats: Int

    public init(maximumOutputChannels: Int = 32, targetFloats: Int = 1 << 17, minimumColumns: Int = 2048,
                wideScratchFloats: Int = 1 << 23) {
        self.maximumOutputChannels = maximumOutputChannels
        self.targetFloats = targetFloats
        self.minimumColumns = minimumColumns
        self.wideScratchFloats = wideScratchFloats
    }

    /// Samples per block when the columns are streamed: the cache/width rule for every layer.
    func streamingSamplesPerBlock(rows: Int, sampleColumns: Int, batch: Int) -> Int {
        let sc = max(sampleColumns, 1)
        return max(1, targetFloats / max(rows * sc, 1), (minimumColumns + sc - 1) / sc)
    }

    /// Samples per block for a layer (at least one; the whole batch when not blocking).
    func samplesPerBlock(outputChannels: Int, rows: Int, sampleColumns: Int, batch: Int) -> Int {
        guard outputChannels <= maximumOutputChannels else { return max(batch, 1) }
        let sc = max(sampleColumns, 1)
        let byCache = targetFloats / max(rows * sc, 1)
        let byWidth = (minimumColumns + sc - 1) / sc
        return max(1, byCache, byWidth)
    }
}
