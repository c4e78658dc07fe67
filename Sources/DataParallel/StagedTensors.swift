import Compute

/// Device tensors summed over the ranks through one flat host buffer: device buffers are not
/// MPI-aware, so each tensor is downloaded into its slice, the buffer is all-reduced in one
/// call (one message per step instead of one per tensor) and the slices are uploaded again.
public final class StagedTensorSum {
    public let collective: Collective
    private var host: [Float] = []

    public init(collective: Collective) { self.collective = collective }

    /// tensors[i] = scale · Σ_ranks tensors[i], for every i, on every rank. Bytes moved: 4 · Σ counts.
    public func sum(_ tensors: [Tensor], on device: Device, scale: Float = 1) {
        let total = tensors.reduce(0) { $0 + $1.count }
        if host.count != total { host = [Float](repeating: 0, count: total) }
        host.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            for t in tensors {
                device.download(t, into: UnsafeMutableBufferPointer(rebasing: buffer[offset ..< offset + t.count]))
                offset += t.count
            }
            collective.allReduceSum(buffer)
            if scale != 1 { for i in 0 ..< total { buffer[i] *= scale } }
            offset = 0
            for t in tensors {
                device.upload(UnsafeBufferPointer(rebasing: buffer[offset ..< offset + t.count]), to: t)
                offset += t.count
            }
        }
    }
}
