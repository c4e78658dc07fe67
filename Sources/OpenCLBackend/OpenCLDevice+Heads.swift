import COpenCL
import Compute

/// Global pooling, linear layers and L2 normalisation (`Kernels/pool_linear.cl`, CLBlast).
extension OpenCLDevice {
    public func poolForward(x: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, y: Tensor) {
        let n = channels * samples * persons * plane
        let flops: Double = Double(n)
        let elements: Int = n
        let bytes = 4 * Double(elements)
        op("poolForward", flops: flops, bytes: bytes) {
            launch(CLKernel.pool_forward(.tensor(x), .tensor(y), .int(channels), .int(samples), .int(persons),
                                         .int(plane), .localPerItem(4)), groups: samples * channels)
        }
    }

    public func poolBackward(dy: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, dx: Tensor) {
        let n = channels * samples * persons * plane
        let flops: Double = Double(n)
        let elements: Int = n
        let bytes = 4 * Double(elements)
        op("poolBackward", flops: flops, bytes: bytes) {
            launch(CLKernel.pool_backward(.tensor(dy), .tensor(dx), .int(channels), .int(samples), .int(persons),
                                          .int(plane)), count: n)
        }
    }

    public func linearForward(x: Tensor, weight: Tensor, bias: Tensor, y: Tensor) {
        let out = weight.dim(0), inp = weight.dim(1), b = x.count / inp
        let flops: Double = 2 * Double(b * out * inp)
        let elements: Int = b * inp + out * inp + b * out
        let bytes = 4 * Double(elements)
        op("linearForward", flops: flops, bytes: bytes) {
            sgemm(false, true, b, out, inp, 1, mem(x), 0, inp, mem(weight), 0, inp, 0, mem(y), 0, out)
            launch(CLKernel.add_bias_cols(.tensor(y), .tensor(bias), .int(b), .int(out)), count: b * out)
        }
    }

    public func linearBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor?, dWeight: Tensor, dBias: Tensor) {
        let out = weight.dim(0), inp = weight.dim(1), b = x.count / inp
        let flops: Double = 4 * Double(b * out * inp)
        let elements: Int = 2 * b * inp + 2 * out * inp + b * out
        let bytes = 4 * Double(elements)
        op("linearBackward", flops: flops, bytes: bytes) {
            sgemm(true, false, out, inp, b, 1, mem(dy), 0, out, mem(x), 0, inp, 0, mem(dWeight), 0, inp)
            launch(CLKernel.col_sums(.tensor(dy), .tensor(dBias), .int(b), .int(out)), count: out)
            if let dx {
                sgemm(false, false, b, inp, out, 1, mem(dy), 0, out, mem(weight), 0, inp, 0, mem(dx), 0, inp)
            }
        }
    }

    public func l2NormalizeForward(x: Tensor, epsilon: Float, y: Tensor) {
        let d = x.dim(x.shape.count - 1), b = x.count / d
        let flops: Double = 3 * Double(b * d)
        let bytes: Double = 8 * Double(b * d)
        op("l2NormalizeForward", flops: flops, bytes: bytes) {
            launch(CLKernel.l2norm_forward(.tensor(x), .tensor(y), .int(d), .float(epsilon),
                                           .localPerItem(4)), groups: b)
        }
    }

    public func l2NormalizeBackward(x: Tensor, epsilon: Float, dy: Tensor, dx: Tensor) {
        let d = x.dim(x.shape.count - 1), b = x.count / d
        let flops: Double = 8 * Double(b * d)
        let bytes: Double = 12 * Double(b * d)
        op("l2NormalizeBackward", flops: flops, bytes: bytes) {
            launch(CLKernel.l2norm_backward(.tensor(x), .tensor(dy), .tensor(dx), .int(d), .float(epsilon),
                                            .localPerItem(4)), groups: b)
        }
    }
}
