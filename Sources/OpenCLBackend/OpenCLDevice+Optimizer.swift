import COpenCL
import Compute

/// SGD, momentum-encoder update and Σx² (`Kernels/optimizer.cl`, `Kernels/reduce.cl`).
extension OpenCLDevice {
    public func sgdStep(weight: Tensor, grad: Tensor, momentumBuffer: Tensor, learningRate: Float,
                        momentum: Float, weightDecay: Float, firstStep: Bool) {
        let n = weight.count
        let flops: Double = 6 * Double(n)
        let bytes: Double = 20 * Double(n)
        op("sgdStep", flops: flops, bytes: bytes) {
            launch(CLKernel.sgd_step(.tensor(weight), .tensor(grad), .tensor(momentumBuffer), .int(n),
                                     .float(learningRate), .float(momentum), .float(weightDecay),
                                     .int(firstStep ? 1 : 0)), count: n)
        }
    }

    public func momentumUpdate(key: Tensor, query: Tensor, momentum: Float) {
        let n = key.count
        let flops: Double = 3 * Double(n)
        let bytes: Double = 12 * Double(n)
        op("momentumUpdate", flops: flops, bytes: bytes) {
            launch(CLKernel.momentum_update(.tensor(key), .tensor(query), .int(n), .float(momentum)), count: n)
        }
    }

    public func sumOfSquares(_ x: Tensor, out: Tensor) {
        let n = x.count
        let flops: Double = 2 * Double(n)
        let elements: Int = n
        let bytes = 4 * Double(elements)
        op("sumOfSquares", flops: flops, bytes: bytes) {
            let chunk = 8192, groups = max(1, (n + chunk - 1) / chunk)
            let partial = scratch(groups, "sumOfSquares")
            launch(CLKernel.sum_squares_partial(.tensor(x), .int(n), .int(chunk), .tensor(partial),
                                                .localPerItem(4)), groups: groups)
            launch(CLKernel.sum_partials(.tensor(partial), .int(groups), .tensor(out), .localPerItem(4)), groups: 1)
        }
    }
}
