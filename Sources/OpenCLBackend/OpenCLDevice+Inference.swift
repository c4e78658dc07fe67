import Compute

/// Forward-only variants. The graph conv adds its bias and applies the epilogue inside the
/// aggregation; narrow temporal convs apply it in the direct kernel's store; the rest run the
/// training kernels and then the epilogue as one pass over the output (`Kernels/batchnorm.cl`).
extension OpenCLDevice {
    public func graphConvInference(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                   adjacency: Tensor, importance: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.graphConvInference(x: x, input: input, weight: weight, bias: bias, adjacency: adjacency,
                                              importance: importance, epilogue: epilogue, y: y)
        }) else { return }
        let kc = weight.dim(0), cout = kc / adjacency.dim(0)
        let z = scratch(kc * input.plane, "graphConvInference")
        // The channel mix without its bias, then one pass that adds the bias inside the
        // aggregation and applies the epilogue (no separate bias or epilogue pass).
        let k = adjacency.dim(0), v = input.joints, cin = input.channels, p = input.plane
        let r = cout * input.batch * input.frames
        op("graphConvInference", cost) {
            sgemm(false, false, kc, p, cin, 1, mem(weight), 0, cin, mem(x), 0, p, 0, mem(z), 0, p)
            aggregate(z: z, adjacency: adjacency, importance: importance, bias: bias, epilogue: epilogue, y: y,
                      k: k, r: r, v: v, nt: input.batch * input.frames)
        }
    }

    /// scale, shift, residual, residual scale, hasResidual, hasResidualScale, relu (the kernels'
    /// epilogue arguments). Absent tensors are passed as `placeholder` and flagged off; without an
    /// epilogue all four are (the kernel's own flag then skips it).
    /// The seven epilogue parameters the fused kernels take, in their order.
    struct EpilogueKernelArgs {
        let scale, shift, residual, residualScale: KernelBufferArg
        let hasResidual, hasResidualScale, relu: KernelIntArg
    }

    func epilogueArgs(_ e: ChannelEpilogue?, placeholder: Tensor) -> EpilogueKernelArgs {
        guard let e else {
            return EpilogueKernelArgs(scale: .tensor(placeholder), shift: .tensor(placeholder),
                                      residual: .tensor(placeholder), residualScale: .tensor(placeholder),
                                      hasResidual: .int(0), hasResidualScale: .int(0), relu: .int(0))
        }
        return EpilogueKernelArgs(scale: .tensor(e.scale), shift: .tensor(e.shift),
                                  residual: .tensor(e.residual ?? placeholder),
                                  residualScale: .tensor(e.residualScale ?? placeholder),
                                  hasResidual: .int(e.residual == nil ? 0 : 1),
                                  hasResidualScale: .int(e.residualScale == nil ? 0 : 1), relu: .int(e.relu ? 1 : 0))
    }

    public func temporalConvInference(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                      weight: Tensor, bias: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.temporalConvInference(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                                 bias: bias, epilogue: epilogue, y: y)
        }) else { return }
        let cout = weight.dim(0)
        let g = TemporalGeometry(input, kernel, stride, cout: cout)
        op("temporalConvInference", cost) {
            if let epilogue, usesDirectTemporalConv(g) {
                // Narrow layers: the epilogue is applied as the direct kernel stores each output.
                temporalConvDirect(x: x, g: g, weight: weight, bias: bias, y: y, epilogue: epilogue)
                return
            }
            // The training forward and an epilogue pass, counted as this op.
            temporalConvForward(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                                columns: nil, y: y)
            if let epilogue { applyEpilogue(epilogue, x: y, channels: cout, y: y) }
        }
    }

    public func applyEpilogue(_ epilogue: ChannelEpilogue, x: Tensor, channels: Int, y: Tensor) {
        guard let cost = errors.check({ try OpContract.applyEpilogue(epilogue, x: x, channels: channels, y: y) })
        else { return }
        let n = x.count, p = n / channels
        op("applyEpilogue", cost) {
            let e = epilogueArgs(epilogue, placeholder: x)
            launch(CLKernel.channel_epilogue(.tensor(x), .tensor(y), e.scale, e.shift, e.residual, e.residualScale,
                                             e.hasResidual, e.hasResidualScale, e.relu, .int(channels),
                                             .int(p)), count: n)
        }
    }

    public func batchNormInferenceAffine(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                         epsilon: Float, scale: Tensor, shift: Tensor) {
        guard let cost = errors.check({
            try OpContract.batchNormInferenceAffine(gamma: gamma, beta: beta, runningMean: runningMean,
                                                    runningVar: runningVar, scale: scale, shift: shift)
        }) else { return }
        let c = gamma.count
        op("batchNormInferenceAffine", cost) {
            launch(CLKernel.bn_inference_affine(.tensor(gamma), .tensor(beta), .tensor(runningMean),
                                                .tensor(runningVar), .int(c), .float(epsilon), .tensor(scale),
                                                .tensor(shift)), count: c)
        }
    }
}
