import COpenCL
import Compute

/// Elementwise ops, dropout (Philox in-kernel, `Kernels/random.cl`) and permutation.
extension OpenCLDevice {
    public func reluForward(x: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.reluForward(x: x, y: y) }) else { return }
        let n = x.count
        op("reluForward", cost) {
            launch(CLKernel.relu_forward(.tensor(x), .tensor(y), .int(n)), count: n)
        }
    }

    public func reluBackward(y: Tensor, dy: Tensor, dx: Tensor) {
        guard let cost = errors.check({ try OpContract.reluBackward(y: y, dy: dy, dx: dx) }) else { return }
        let n = y.count
        op("reluBackward", cost) {
            launch(CLKernel.relu_backward(.tensor(y), .tensor(dy), .tensor(dx), .int(n)), count: n)
        }
    }

    public func dropoutForward(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, y: Tensor) {
        dropout("dropoutForward", x, p, key, slice, y)
    }

    public func dropoutBackward(dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, dx: Tensor) {
        dropout("dropoutBackward", dy, p, key, slice, dx)
    }

    /// y = x·1/(1−p) where key.uniform(i) >= p, else 0; p == 0 copies. A rank's part of the batch
    /// (`DropoutSampleSlice`, not the whole) draws the whole batch's mask: one work-item per
    /// element, each drawing its global element's Philox block.
    private func dropout(_ name: String, _ x: Tensor, _ p: Float, _ key: RandomKey, _ slice: DropoutSampleSlice?,
                         _ y: Tensor) {
        let part = DropoutSampleSlice.part(of: slice)
        guard let cost = errors.check({ try OpContract.dropout(name, x: x, p: p, y: y, slice: part) }) else { return }
        let n = x.count
        if p == 0 {
            if x.buffer !== y.buffer { copy(x, srcOffset: 0, to: y, dstOffset: 0, count: n) }
            return
        }
        let scale = DropoutSampleSlice.keptScale(p: p)
        let (k0, k1) = key.keyWords
        op(name, cost) {
            if let s = part {
                launch(CLKernel.dropout_apply_slice(.tensor(x), .tensor(y), .int(n), .float(p), .float(scale), .uint(k0),
                                                    .uint(k1), .uint(key.stream), .uint(key.step), .int(s.samples),
                                                    .int(s.globalSamples), .int(s.offset), .int(s.inner)), count: n)
            } else {
                launch(CLKernel.dropout_apply(.tensor(x), .tensor(y), .int(n), .float(p), .float(scale), .uint(k0),
                                              .uint(k1), .uint(key.stream), .uint(key.step)), count: (n + 3) / 4)
            }
        }
    }

    /// One pass for a training block's dropout, residual sum and ReLU (three without it).
    public func dropoutResidualReLU(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, residual: Tensor?,
                                    y: Tensor) {
        let part = DropoutSampleSlice.part(of: slice)
        guard let cost = errors.check({
            try OpContract.dropoutResidualReLU(x: x, p: p, slice: part, residual: residual, y: y)
        }) else { return }
        let n = x.count, scale = DropoutSampleSlice.keptScale(p: p)
        let (k0, k1) = key.keyWords
        op("dropoutResidualReLU", cost) {
            let r = residual ?? x, has = residual == nil ? 0 : 1
            if let s = part {
                launch(CLKernel.dropout_residual_relu_slice(.tensor(x), .tensor(r), .tensor(y), .int(n), .int(has), .float(p),
                                                            .float(scale), .uint(k0), .uint(k1), .uint(key.stream),
                                                            .uint(key.step), .int(s.samples), .int(s.globalSamples),
                                                            .int(s.offset), .int(s.inner)), count: n)
            } else {
                launch(CLKernel.dropout_residual_relu(.tensor(x), .tensor(r), .tensor(y), .int(n), .int(has), .float(p),
                                                      .float(scale), .uint(k0), .uint(k1), .uint(key.stream),
                                                      .uint(key.step)), count: (n + 3) / 4)
            }
        }
    }

    /// One pass for the ReLU's and the dropout's backward (two without it).
    public func reluDropoutBackward(y: Tensor, dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?,
                                    masked: Tensor, dx: Tensor) {
        let part = DropoutSampleSlice.part(of: slice)
        guard let cost = errors.check({
            try OpContract.reluDropoutBackward(y: y, dy: dy, p: p, slice: part, masked: masked, dx: dx)
        }) else { return }
        let n = y.count, scale = DropoutSampleSlice.keptScale(p: p)
        let (k0, k1) = key.keyWords
        op("reluDropoutBackward", cost) {
            if let s = part {
                launch(CLKernel.relu_dropout_backward_slice(.tensor(y), .tensor(dy), .tensor(masked), .tensor(dx), .int(n),
                                                            .float(p), .float(scale), .uint(k0), .uint(k1),
                                                            .uint(key.stream), .uint(key.step), .int(s.samples),
                                                            .int(s.globalSamples), .int(s.offset), .int(s.inner)), count: n)
            } else {
                launch(CLKernel.relu_dropout_backward(.tensor(y), .tensor(dy), .tensor(masked), .tensor(dx), .int(n),
                                                      .float(p), .float(scale), .uint(k0), .uint(k1), .uint(key.stream),
                                                      .uint(key.step)), count: (n + 3) / 4)
            }
        }
    }

    /// u[i] = key.uniform(i) computed on the device (initialisation and tests).
    public func uniform(key: RandomKey, into u: Tensor) {
        let n = u.count
        op("uniform", bytes: 4 * Double(n)) {
            let (k0, k1) = key.keyWords
            launch(CLKernel.philox_uniform(.tensor(u), .int(n), .uint(k0), .uint(k1), .uint(key.stream),
                                           .uint(key.step)), count: (n + 3) / 4)
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.binary("add", a: a, b: b, y: y) }) else { return }
        let n = a.count
        op("add", cost) {
            launch(CLKernel.add_f32(.tensor(a), .tensor(b), .tensor(y), .int(n)), count: n)
        }
    }

    public func addReLU(_ a: Tensor, _ b: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.binary("addReLU", a: a, b: b, y: y) }) else { return }
        let n = a.count
        op("addReLU", cost) {
            launch(CLKernel.add_relu_f32(.tensor(a), .tensor(b), .tensor(y), .int(n)), count: n)
        }
    }

    public func multiply(_ a: Tensor, _ b: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.binary("multiply", a: a, b: b, y: y) }) else { return }
        let n = a.count
        op("multiply", cost) {
            launch(CLKernel.mul_f32(.tensor(a), .tensor(b), .tensor(y), .int(n)), count: n)
        }
    }

    public func axpby(alpha: Float, x: Tensor, beta: Float, y: Tensor) {
        guard let cost = errors.check({ try OpContract.axpby(x: x, y: y) }) else { return }
        let n = x.count
        op("axpby", cost) {
            launch(CLKernel.axpby_f32(.float(alpha), .tensor(x), .float(beta), .tensor(y), .int(n)), count: n)
        }
    }

    public func permute(x: Tensor, shape: [Int], perm: [Int], y: Tensor) {
        guard let cost = errors.check({ try OpContract.permute(x: x, shape: shape, perm: perm, y: y) }) else { return }
        let n = shape.reduce(1, *)
        var inStrides = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let pad = 6 - shape.count
        let outDims = [Int](repeating: 1, count: pad) + perm.map { shape[$0] }
        let strides = [Int](repeating: 0, count: pad) + perm.map { inStrides[$0] }
        op("permute", cost) {
            let d = outDims.map { KernelIntArg.int($0) }, s = strides.map { KernelIntArg.int($0) }
            launch(CLKernel.permute6(.tensor(x), .tensor(y), .int(n), d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2],
                                     s[3], s[4], s[5]), count: n)
        }
    }
}
