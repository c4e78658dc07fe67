import COpenCL
import Compute

/// Elementwise ops, dropout (Philox in-kernel, `Kernels/random.cl`) and permutation.
extension OpenCLDevice {
    public func reluForward(x: Tensor, y: Tensor) {
        let n = x.count
        let flops: Double = Double(n)
        let bytes: Double = 8 * Double(n)
        op("reluForward", flops: flops, bytes: bytes) {
            launch(CLKernel.relu_forward(.tensor(x), .tensor(y), .int(n)), count: n)
        }
    }

    public func reluBackward(y: Tensor, dy: Tensor, dx: Tensor) {
        let n = y.count
        let flops: Double = Double(n)
        let bytes: Double = 12 * Double(n)
        op("reluBackward", flops: flops, bytes: bytes) {
            launch(CLKernel.relu_backward(.tensor(y), .tensor(dy), .tensor(dx), .int(n)), count: n)
        }
    }

    public func dropoutForward(x: Tensor, p: Float, key: RandomKey, y: Tensor) {
        dropout("dropoutForward", x, p, key, y)
    }

    public func dropoutBackward(dy: Tensor, p: Float, key: RandomKey, dx: Tensor) {
        dropout("dropoutBackward", dy, p, key, dx)
    }

    /// y = x·1/(1−p) where key.uniform(i) >= p, else 0; p == 0 copies.
    private func dropout(_ name: String, _ x: Tensor, _ p: Float, _ key: RandomKey, _ y: Tensor) {
        let n = x.count
        if p == 0 {
            copy(x, srcOffset: 0, to: y, dstOffset: 0, count: n)
            return
        }
        let scale: Float = p < 1 ? 1 / (1 - p) : 0
        op(name, flops: Double(n), bytes: 8 * Double(n)) {
            launch(CLKernel.dropout_apply(.tensor(x), .tensor(y), .int(n), .float(p), .float(scale),
                                          .uint(UInt32(truncatingIfNeeded: key.seed)),
                                          .uint(UInt32(truncatingIfNeeded: key.seed >> 32)), .uint(key.stream),
                                          .uint(key.step)), count: (n + 3) / 4)
        }
    }

    /// u[i] = key.uniform(i) computed on the device (initialisation and tests).
    public func uniform(key: RandomKey, into u: Tensor) {
        let n = u.count
        op("uniform", bytes: 4 * Double(n)) {
            launch(CLKernel.philox_uniform(.tensor(u), .int(n), .uint(UInt32(truncatingIfNeeded: key.seed)),
                                           .uint(UInt32(truncatingIfNeeded: key.seed >> 32)), .uint(key.stream),
                                           .uint(key.step)), count: (n + 3) / 4)
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, y: Tensor) {
        let n = y.count
        let flops: Double = Double(n)
        let bytes: Double = 12 * Double(n)
        op("add", flops: flops, bytes: bytes) {
            launch(CLKernel.add_f32(.tensor(a), .tensor(b), .tensor(y), .int(n)), count: n)
        }
    }

    public func addReLU(_ a: Tensor, _ b: Tensor, y: Tensor) {
        let n = y.count
        op("addReLU", flops: 2 * Double(n), bytes: 12 * Double(n)) {
            launch(CLKernel.add_relu_f32(.tensor(a), .tensor(b), .tensor(y), .int(n)), count: n)
        }
    }

    public func multiply(_ a: Tensor, _ b: Tensor, y: Tensor) {
        let n = y.count
        let flops: Double = Double(n)
        let bytes: Double = 12 * Double(n)
        op("multiply", flops: flops, bytes: bytes) {
            launch(CLKernel.mul_f32(.tensor(a), .tensor(b), .tensor(y), .int(n)), count: n)
        }
    }

    public func axpby(alpha: Float, x: Tensor, beta: Float, y: Tensor) {
        let n = y.count
        let flops: Double = 3 * Double(n)
        let bytes: Double = 12 * Double(n)
        op("axpby", flops: flops, bytes: bytes) {
            launch(CLKernel.axpby_f32(.float(alpha), .tensor(x), .float(beta), .tensor(y), .int(n)), count: n)
        }
    }

    public func permute(x: Tensor, shape: [Int], perm: [Int], y: Tensor) {
        precondition(shape.count == perm.count && shape.count <= 6 && Set(perm) == Set(0..<shape.count),
                     "permute: perm \(perm) does not match shape \(shape) (at most 6 dims)")
        let n = shape.reduce(1, *)
        var inStrides = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let pad = 6 - shape.count
        let outDims = [Int](repeating: 1, count: pad) + perm.map { shape[$0] }
        let strides = [Int](repeating: 0, count: pad) + perm.map { inStrides[$0] }
        op("permute", bytes: 8 * Double(n)) {
            let d = outDims.map { KernelIntArg.int($0) }, s = strides.map { KernelIntArg.int($0) }
            launch(CLKernel.permute6(.tensor(x), .tensor(y), .int(n), d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2],
                                     s[3], s[4], s[5]), count: n)
        }
    }
}
