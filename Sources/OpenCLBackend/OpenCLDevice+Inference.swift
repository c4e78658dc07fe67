import Compute

/// Forward-only variants: the training kernels into pooled scratch, then the epilogue as one
/// pass over the output (`Kernels/batchnorm.cl`).
extension OpenCLDevice {
    public func graphConvInference(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                   adjacency: Tensor, importance: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        let kc = weight.dim(0), cout = kc / max(adjacency.dim(0), 1)
        epilogue?.validate("graphConvInference", channels: cout, count: cout * input.plane)
        let z = scratch(kc * input.plane, "graphConvInference")
        graphConvForward(x: x, input: input, weight: weight, bias: bias, adjacency: adjacency, importance: importance,
                         z: z, y: y)
        if let epilogue { applyEpilogue(epilogue, x: y, channels: cout, y: y) }
    }

    public func temporalConvInference(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                      weight: Tensor, bias: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        temporalConvForward(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                            columns: nil, y: y)
        let cout = weight.dim(0)
        if let epilogue { applyEpilogue(epilogue, x: y, channels: cout, y: y) }
    }

    public func applyEpilogue(_ epilogue: ChannelEpilogue, x: Tensor, channels: Int, y: Tensor) {
        let p = epilogue.validateApply(x: x, channels: channels, y: y), n = x.count
        op("applyEpilogue", flops: 4 * Double(n), bytes: 4 * Double(n * (epilogue.residual == nil ? 2 : 3))) {
            launch("batchnorm.cl", "channel_epilogue", count: n,
                   [.tensor(x), .tensor(y), .tensor(epilogue.scale), .tensor(epilogue.shift),
                    .tensor(epilogue.residual ?? x), .tensor(epilogue.residualScale ?? epilogue.scale),
                    .int(epilogue.residual == nil ? 0 : 1), .int(epilogue.residualScale == nil ? 0 : 1),
                    .int(epilogue.relu ? 1 : 0), .int(channels), .int(p)])
        }
    }

    public func batchNormInferenceAffine(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                         epsilon: Float, scale: Tensor, shift: Tensor) {
        let c = batchNormAffineChannels(gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                        scale: scale, shift: shift)
        op("batchNormInferenceAffine", flops: 4 * Double(c), bytes: 24 * Double(c)) {
            launch("batchnorm.cl", "bn_inference_affine", count: c,
                   [.tensor(gamma), .tensor(beta), .tensor(runningMean), .tensor(runningVar), .int(c),
                    .float(epsilon), .tensor(scale), .tensor(shift)])
        }
    }
}
