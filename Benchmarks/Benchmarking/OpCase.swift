import Compute

/// One benchmarked op at one shape: a closure that runs it once on tensors prepared ahead of time
/// (preparation is not timed).
public struct OpCase {
    public var op: String
    public var shape: String
    /// Makes the case's tensors on a device and returns one run. Its flops and bytes are what the
    /// ops' contracts charge (`OpContract`), read from the device's profiler.
    public var prepare: (Device) throws -> () -> Void

    public init(op: String, shape: String, prepare: @escaping (Device) throws -> () -> Void) {
        self.op = op; self.shape = shape; self.prepare = prepare
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
