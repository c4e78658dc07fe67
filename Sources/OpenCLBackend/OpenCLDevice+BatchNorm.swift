import COpenCL
import Compute

/// Batch norm over channel-major (C, P). Statistics and parameter gradients are reduced in two
/// deterministic passes (`Kernels/batchnorm.cl`): chunk partials on a (G, C) grid of
/// work-groups, then a per-channel merge.
extension OpenCLDevice {
    /// Elements per chunk of the first reduction pass.
    private var bnChunk: Int { 4096 }

    public func batchNormForward(x: Tensor, channels: Int, training: Bool, momentum: Float, epsilon: Float,
                                 gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                 savedMean: Tensor, savedInvStd: Tensor, relu: Bool, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.batchNormForward(x: x, channels: channels, training: training, gamma: gamma, beta: beta,
                                            runningMean: runningMean, runningVar: runningVar, savedMean: savedMean,
                                            savedInvStd: savedInvStd, y: y)
        }) else { return }
        let c = channels, p = x.count / channels
        op("batchNormForward", cost) {
            if training {
                let chunk = bnChunk, groups = (p + chunk - 1) / chunk
                let partial = scratch(c * groups * 2, "batchNormForward")
                launchGrid(CLKernel.bn_partial_stats(.tensor(x), .int(p), .int(chunk), .int(groups), .tensor(partial),
                                                     .localPerItem(4)), groups: groups, channels: c)
                launch(CLKernel.bn_finalize_stats(.tensor(partial), .int(c), .int(groups), .int(p), .int(chunk),
                                                  .float(momentum), .float(epsilon), .tensor(runningMean),
                                                  .tensor(runningVar), .tensor(savedMean),
                                                  .tensor(savedInvStd)), count: c)
            } else {
                launch(CLKernel.bn_eval_stats(.tensor(runningMean), .tensor(runningVar), .int(c), .float(epsilon),
                                              .tensor(savedMean), .tensor(savedInvStd)), count: c)
            }
            launch(CLKernel.bn_apply(.tensor(x), .tensor(y), .tensor(savedMean), .tensor(savedInvStd), .tensor(gamma),
                                     .tensor(beta), .int(c), .int(p), .int(relu ? 1 : 0)), count: c * p)
        }
    }

    public func batchNormBackward(x: Tensor, channels: Int, training: Bool, gamma: Tensor,
                                  savedMean: Tensor, savedInvStd: Tensor, dy: Tensor,
                                  dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        guard let cost = errors.check({
            try OpContract.batchNormBackward(x: x, channels: channels, gamma: gamma, savedMean: savedMean,
                                             savedInvStd: savedInvStd, dy: dy, dx: dx, dGamma: dGamma, dBeta: dBeta)
        }) else { return }
        let c = channels, p = x.count / channels
        op("batchNormBackward", cost) {
            let chunk = bnChunk, groups = (p + chunk - 1) / chunk
            let partial = scratch(c * groups * 2, "batchNormBackward")
            launchGrid(CLKernel.bn_partial_grad(.tensor(x), .tensor(dy), .tensor(savedMean), .tensor(savedInvStd),
                                                .int(p),
                                                .int(chunk), .int(groups), .tensor(partial), .localPerItem(4)),
                       groups: groups, channels: c)
            launch(CLKernel.bn_finalize_grad(.tensor(partial), .int(c), .int(groups), .tensor(dGamma),
                                             .tensor(dBeta)), count: c)
            if training {
                launch(CLKernel.bn_backward_train(.tensor(x), .tensor(dy), .tensor(dx), .tensor(savedMean),
                                                  .tensor(savedInvStd), .tensor(gamma), .tensor(dGamma),
                                                  .tensor(dBeta), .int(c), .int(p)), count: c * p)
            } else {
                launch(CLKernel.bn_backward_eval(.tensor(dy), .tensor(dx), .tensor(savedInvStd), .tensor(gamma),
                                                 .int(c), .int(p)), count: c * p)
            }
        }
    }

    /// A (groups × channels) grid with one work-group per (chunk, channel).
    private func launchGrid(_ call: KernelCall, groups: Int, channels: Int) {
        let g = groupSize(call.file, call.name)
        launch(call, global: [groups * g, channels], local: [g, 1])
    }
}
