import COpenCL
import Compute

/// SGD, momentum-encoder update and Σx² (`Kernels/optimizer.cl`, `Kernels/reduce.cl`).
extension OpenCLDevice {
    public func sgdStep(weight: Tensor, grad: Tensor, momentumBuffer: Tensor, learningRate: Float,
                        momentum: Float, weightDecay: Float, firstStep: Bool, nesterov: Bool) {
        guard let cost = errors.check({
            try OpContract.sgdStep(weight: weight, grad: grad, momentumBuffer: momentumBuffer)
        }) else { return }
        let n = weight.count
        op("sgdStep", cost) {
            launch(CLKernel.sgd_step(.tensor(weight), .tensor(grad), .tensor(momentumBuffer), .int(n),
                                     .float(learningRate), .float(momentum), .float(weightDecay),
                                     .int(firstStep ? 1 : 0), .int(nesterov ? 1 : 0)), count: n)
        }
    }

    public func momentumUpdate(key: Tensor, query: Tensor, momentum: Float) {
        guard let cost = errors.check({ try OpContract.momentumUpdate(key: key, query: query) }) else { return }
        let n = key.count
        op("momentumUpdate", cost) {
            launch(CLKernel.momentum_update(.tensor(key), .tensor(query), .int(n), .float(momentum)), count: n)
        }
    }

    public func sumOfSquares(_ x: Tensor, out: Tensor) {
        guard let cost = errors.check({ try OpContract.sumOfSquares(x: x, out: out) }) else { return }
        let n = x.count
        op("sumOfSquares", cost) {
            let chunk = 8192, groups = max(1, (n + chunk - 1) / chunk)
            let partial = scratch(groups, "sumOfSquares")
            launch(CLKernel.sum_squares_partial(.tensor(x), .int(n), .int(chunk), .tensor(partial),
                                                .localPerItem(4)), groups: groups)
            launch(CLKernel.sum_partials(.tensor(partial), .int(groups), .tensor(out), .localPerItem(4)), groups: 1)
        }
    }
}
