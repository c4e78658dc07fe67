import Compute

/// One benchmarked op at one shape: how much work it does, and a closure that runs it once
/// on tensors prepared ahead of time (preparation is not timed).
public struct OpCase {
    public var op: String
    public var shape: String
    /// Floating-point operations per run (0 for memory-bound ops).
    public var flops: Double
    /// Bytes read plus written per run (for GB/s of memory-bound ops).
    public var bytes: Double
    public var prepare: (Device) throws -> () -> Void

    public init(op: String, shape: String, flops: Double, bytes: Double,
                prepare: @escaping (Device) throws -> () -> Void) {
        self.op = op; self.shape = shape; self.flops = flops; self.bytes = bytes; self.prepare = prepare
    }
}

/// Host-side random fill (deterministic; the values only need to be finite and non-trivial).
func randomTensor(_ device: Device, _ shape: [Int], seed: UInt64, scale: Float = 1, offset: Float = 0) throws -> Tensor {
    let n = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: n)
    let g = Philox4x32(seed: seed)
    values.withUnsafeMutableBufferPointer { v in
        var i = 0
        var counter: UInt32 = 0
        while i < n {
            let r = g.block(counter, 0, 0, 0)
            counter &+= 1
            for bits in [r.0, r.1, r.2, r.3] where i < n {
                v[i] = (Philox4x32.unitFloat(bits) * 2 - 1) * scale + offset
                i += 1
            }
        }
    }
    return try device.tensor(values, shape: shape)
}
