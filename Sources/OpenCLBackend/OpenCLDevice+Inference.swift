import Compute

/// Forward-only variants. The graph conv adds its bias and applies the epilogue inside the
/// aggregation; narrow temporal convs apply it in the direct kernel's store; the rest run the
/// training kernels and then the epilogue as one pass over the output (`Kernels/batchnorm.cl`).
extension OpenCLDevice {
    public func graphConvInference(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                   adjacency: Tensor, importance: Tensor, epilogue: ChannelEpilogue?, y: Tensor) {
        let kc = weight.dim(0), cout = kc / max(adjacency.dim(0), 1)
        epilogue?.validate("graphConvInference", channels: cout, count: cout * input.plane)
        let z = scratch(kc * input.plane, "graphConvInference")
        // The channel mix without its bias, then one pass that adds the bias inside the
        // aggregation and applies the epilogue (no separate bias or epilogue pass).
        let k = adjacency.dim(0), v = input.joints, cin = input.channels, p = input.plane
        let r = cout * input.batch * input.frames
        let flops: Double = 2 * Double(kc * cin) * Double(p) + 2 * Double(k * r * v * v)
        let bytes = 4 * Double(input.count + kc * p + 2 * r * v + (epilogue?.residual == nil ? 0 : r * v))
        op("graphConvInference", flops: flops, bytes: bytes) {
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
        let cout = weight.dim(0)
        let g = TemporalGeometry(input, kernel, stride, cout: cout)
        if let epilogue, usesDirectTemporalConv(g) {
            // Narrow layers: the epilogue is applied as the direct kernel stores each output.
            epilogue.validate("temporalConvInference", channels: cout, count: cout * g.q)
            let flops: Double = 2 * Double(cout * g.rows) * Double(g.q)
            let bytes = 4 * Double(input.count + cout * g.q * (epilogue.residual == nil ? 1 : 2) + cout * g.rows)
            op("temporalConvInference", flops: flops, bytes: bytes) {
                temporalConvDirect(x: x, g: g, weight: weight, bias: bias, y: y, epilogue: epilogue)
            }
            return
        }
        temporalConvForward(x: x, input: input, kernel: kernel, stride: stride, weight: weight, bias: bias,
                            columns: nil, y: y)
        if let epilogue { applyEpilogue(epilogue, x: y, channels: cout, y: y) }
    }

    public func applyEpilogue(_ epilogue: ChannelEpilogue, x: Tensor, channels: Int, y: Tensor) {
        let p = epilogue.validateApply(x: x, channels: channels, y: y), n = x.count
        op("applyEpilogue", flops: 4 * Double(n), bytes: 4 * Double(n * (epilogue.residual == nil ? 2 : 3))) {
            let e = epilogueArgs(epilogue, placeholder: x)
            launch(CLKernel.channel_epilogue(.tensor(x), .tensor(y), e.scale, e.shift, e.residual, e.residualScale,
                                             e.hasResidual, e.hasResidualScale, e.relu, .int(channels),
                                             .int(p)), count: n)
        }
    }

    public func batchNormInferenceAffine(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                         epsilon: Float, scale: Tensor, shift: Tensor) {
        let c = batchNormAffineChannels(gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                        scale: scale, shift: shift)
        op("batchNormInferenceAffine", flops: 4 * Double(c), bytes: 24 * Double(c)) {
            launch(CLKernel.bn_inference_affine(.tensor(gamma), .tensor(beta), .tensor(runningMean),
                                                .tensor(runningVar), .int(c), .float(epsilon), .tensor(scale),
                                                .tensor(shift)), count: c)
        }
    }
}
