import COpenCL
import Compute

/// Global pooling, linear layers and L2 normalisation (`Kernels/pool_linear.cl`, CLBlast).
extension OpenCLDevice {
    public func poolForward(x: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.pool("poolForward", activation: x, channels: channels, samples: samples, persons: persons,
                                plane: plane, pooled: y)
        }) else { return }
        op("poolForward", cost) {
            launch(CLKernel.pool_forward(.tensor(x), .tensor(y), .int(channels), .int(samples), .int(persons),
                                         .int(plane), .localPerItem(4)), groups: samples * channels)
        }
    }

    public func poolBackward(dy: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, dx: Tensor) {
        guard let cost = errors.check({
            try OpContract.pool("poolBackward", activation: dx, channels: channels, samples: samples, persons: persons,
                                plane: plane, pooled: dy)
        }) else { return }
        let n = channels * samples * persons * plane
        op("poolBackward", cost) {
            launch(CLKernel.pool_backward(.tensor(dy), .tensor(dx), .int(channels), .int(samples), .int(persons),
                                          .int(plane)), count: n)
        }
    }

    public func linearForward(x: Tensor, weight: Tensor, bias: Tensor, y: Tensor) {
        guard let cost = errors.check({ try OpContract.linearForward(x: x, weight: weight, bias: bias, y: y) })
        else { return }
        let out = weight.dim(0), inp = weight.dim(1), b = x.count / inp
        op("linearForward", cost) {
            sgemm(false, true, b, out, inp, 1, mem(x), 0, inp, mem(weight), 0, inp, 0, mem(y), 0, out)
            launch(CLKernel.add_bias_cols(.tensor(y), .tensor(bias), .int(b), .int(out)), count: b * out)
        }
    }

    public func linearBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor?, dWeight: Tensor, dBias: Tensor) {
        guard let cost = errors.check({
            try OpContract.linearBackward(x: x, weight: weight, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias)
        }) else { return }
        let out = weight.dim(0), inp = weight.dim(1), b = x.count / inp
        op("linearBackward", cost) {
            sgemm(true, false, out, inp, b, 1, mem(dy), 0, out, mem(x), 0, inp, 0, mem(dWeight), 0, inp)
            launch(CLKernel.col_sums(.tensor(dy), .tensor(dBias), .int(b), .int(out)), count: out)
            if let dx {
                sgemm(false, false, b, inp, out, 1, mem(dy), 0, out, mem(weight), 0, inp, 0, mem(dx), 0, inp)
            }
        }
    }

    public func l2NormalizeForward(x: Tensor, epsilon: Float, y: Tensor) {
        guard let cost = errors.check({ try OpContract.l2Normalize("l2NormalizeForward", x: x, dy: nil, output: y) })
        else { return }
        let (b, d) = OpContract.rowsAndWidth(x)
        op("l2NormalizeForward", cost) {
            launch(CLKernel.l2norm_forward(.tensor(x), .tensor(y), .int(d), .float(epsilon),
                                           .localPerItem(4)), groups: b)
        }
    }

    public func l2NormalizeBackward(x: Tensor, epsilon: Float, dy: Tensor, dx: Tensor) {
        guard let cost = errors.check({ try OpContract.l2Normalize("l2NormalizeBackward", x: x, dy: dy, output: dx) })
        else { return }
        let (b, d) = OpContract.rowsAndWidth(x)
        op("l2NormalizeBackward", cost) {
            launch(CLKernel.l2norm_backward(.tensor(x), .tensor(dy), .tensor(dx), .int(d), .float(epsilon),
                                            .localPerItem(4)), groups: b)
        }
    }
}
