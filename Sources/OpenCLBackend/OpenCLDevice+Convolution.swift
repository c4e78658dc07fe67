import COpenCL
import Compute

/// 1x1 and temporal convolutions: each is one CLBlast GEMM over the channel-major layout plus
/// small reshaping kernels (`Kernels/conv.cl`). Backward passes avoid atomics: dW is a GEMM,
/// db a row reduction and dx a GEMM followed by a gather (col2im / frame scatter).
extension OpenCLDevice {
    public func conv1x1Forward(x: Tensor, input: ActivationShape, stride: Int,
                               weight: Tensor, bias: Tensor, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.conv1x1Forward(x: x, input: input, stride: stride, weight: weight, bias: bias, y: y)
        }) else { return }
        let cin = input.channels, cout = weight.dim(0)
        let tout = OpContract.outputFrames(input.frames, stride: stride)
        let q = input.batch * tout * input.joints
        op("conv1x1Forward", cost) {
            let xs = strided(x, input, stride, tout)
            sgemm(false, false, cout, q, cin, 1, mem(weight), 0, cin, mem(xs), 0, q, 0, mem(y), 0, q)
            addBiasRows(y, bias, rows: cout, cols: q)
        }
    }

    public func conv1x1Backward(x: Tensor, input: ActivationShape, stride: Int, weight: Tensor,
                                dy: Tensor, dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor) {
        guard let cost = errors.check({
            try OpContract.conv1x1Backward(x: x, input: input, stride: stride, weight: weight, dy: dy, dx: dx,
                                           dWeight: dWeight, dBias: dBias)
        }) else { return }
        let cin = input.channels, cout = weight.dim(0)
        let tout = OpContract.outputFrames(input.frames, stride: stride)
        let q = input.batch * tout * input.joints
        op("conv1x1Backward", cost) {
            let xs = strided(x, input, stride, tout)
            sgemm(false, true, cout, cin, q, 1, mem(dy), 0, q, mem(xs), 0, q, 0, mem(dWeight), 0, cin)
            rowSums(dy, into: dBias, rows: cout, cols: q)
            guard let dx else { return }
            if stride == 1 {
                sgemm(true, false, cin, q, cout, 1, mem(weight), 0, cin, mem(dy), 0, q,
                      accumulate ? 1 : 0, mem(dx), 0, q)
            } else {
                let dxs = scratch(cin * q, "conv1x1Backward")
                sgemm(true, false, cin, q, cout, 1, mem(weight), 0, cin, mem(dy), 0, q, 0, mem(dxs), 0, q)
                let rows = cin * input.batch
                launch(CLKernel.scatter_frames(.tensor(dxs), .tensor(dx), .int(rows), .int(input.frames),
                                               .int(input.joints), .int(stride), .int(tout),
                                               .int(accumulate ? 1 : 0)), count: rows * input.frames * input.joints)
            }
        }
    }

    /// x itself for stride 1, else a scratch copy of every stride-th frame.
    private func strided(_ x: Tensor, _ input: ActivationShape, _ stride: Int, _ tout: Int) -> Tensor {
        if stride == 1 { return x }
        let rows = input.channels * input.batch
        let xs = scratch(rows * tout * input.joints, "conv1x1 gather")
        launch(CLKernel.gather_frames(.tensor(x), .tensor(xs), .int(rows), .int(input.frames), .int(input.joints),
                                      .int(stride), .int(tout)), count: rows * tout * input.joints)
        return xs
    }

    public func temporalConvForward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                    weight: Tensor, bias: Tensor, columns: Tensor?, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.temporalConvForward(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                               bias: bias, columns: columns, y: y)
        }) else { return }
        let g = TemporalGeometry(input, kernel, stride, cout: weight.dim(0))
        if usesDirectTemporalConv(g) {
            // Stored columns are still written for the backward's weight gradient, but the
            // convolution itself reads x, not the columns.
            op("temporalConvForward", cost) {
                if let columns {
                    im2col(x, g, into: columns)
                }
                temporalConvDirect(x: x, g: g, weight: weight, bias: bias, y: y)
            }
            return
        }
        // Without caller-owned columns the im2col lives in pooled scratch and the backward rebuilds it.
        let columns = columns ?? scratch(g.rows * g.q, "temporalConvForward")
        op("temporalConvForward", cost) {
            im2col(x, g, into: columns)
            sgemm(false, false, g.cout, g.q, g.rows, 1, mem(weight), 0, g.rows, mem(columns), 0, g.q, 0, mem(y), 0, g.q)
            addBiasRows(y, bias, rows: g.cout, cols: g.q)
        }
    }

    public func temporalConvBackward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                     weight: Tensor, columns given: Tensor?, dy: Tensor,
                                     dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor) {
        guard let cost = errors.check({
            try OpContract.temporalConvBackward(x: x, input: input, kernel: kernel, stride: stride, weight: weight,
                                                columns: given, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias)
        }) else { return }
        let g = TemporalGeometry(input, kernel, stride, cout: weight.dim(0))
        let columns: Tensor
        if let given {
            columns = given
        } else {
            columns = scratch(g.rows * g.q, "temporalConvBackward columns")
            im2col(x, g, into: columns)
        }
        op("temporalConvBackward", cost) {
            sgemm(false, true, g.cout, g.rows, g.q, 1, mem(dy), 0, g.q, mem(columns), 0, g.q, 0, mem(dWeight), 0, g.rows)
            rowSums(dy, into: dBias, rows: g.cout, cols: g.q)
            guard let dx else { return }
            // Stride 1: dx is the same-padded convolution of dy with the weights transposed and
            // flipped in time, so narrow layers skip the column gradient and its col2im.
            let adjoint = TemporalGeometry(ActivationShape(channels: g.cout, batch: g.input.batch, frames: g.tout,
                                                           joints: g.input.joints), g.kt, 1, cout: g.input.channels)
            if g.stride == 1 && g.kt % 2 == 1 && usesDirectTemporalConv(adjoint) {
                let flipped = scratch(g.cout * g.rows, "temporalConvBackward weights")
                launch(CLKernel.temporal_weight_flip(.tensor(weight), .tensor(flipped), .int(g.cout),
                                                     .int(g.input.channels), .int(g.kt)), count: g.cout * g.rows)
                temporalConvDirect(x: dy, g: adjoint, weight: flipped, bias: nil, y: dx, accumulate: accumulate)
                return
            }
            let dcols = scratch(g.rows * g.q, "temporalConvBackward")
            sgemm(true, false, g.rows, g.q, g.cout, 1, mem(weight), 0, g.rows, mem(dy), 0, g.q, 0, mem(dcols), 0, g.q)
            let a = g.kernelArgs
            launch(CLKernel.col2im_temporal(.tensor(dcols), .tensor(dx), a.c, a.n, a.t, a.v, a.kt, a.stride, a.pad,
                                            a.tout, .int(accumulate ? 1 : 0)), count: input.count)
        }
    }

    /// Narrow layers convolve directly: their im2col (Cin·kt rows over N·T·V columns) costs more
    /// memory traffic than the GEMM it feeds.
    func usesDirectTemporalConv(_ g: TemporalGeometry) -> Bool {
        directTemporalConv && g.input.channels <= directTemporalConvMaxChannels
            && directTemporalConvLocalBytes(g) <= info.localMemoryBytes
            && directTileFrames(g) * g.input.joints <= maxGroup("conv.cl", "temporal_conv_direct")
    }

    /// TC_CI and TC_CO of `temporal_conv_direct` (input channels staged per step, output
    /// channels per work-group); they size its local memory and grid.
    private static let directStagedInputs = 8, directOutputChannels = 16

    /// Output frames per work-group: about 128 positions (one per work-item).
    private func directTileFrames(_ g: TemporalGeometry) -> Int { max(1, min(g.tout, 128 / g.input.joints)) }

    /// Local memory of one work-group: the staged input slab and weights (`temporal_conv_direct`).
    private func directTemporalConvLocalBytes(_ g: TemporalGeometry) -> Int {
        let inFrames = (directTileFrames(g) - 1) * g.stride + g.kt
        let ci = Self.directStagedInputs, co = Self.directOutputChannels
        return 4 * (ci * inFrames * g.input.joints + ci * g.kt * co)
    }

    /// `bias` nil: none; `accumulate`: y += conv(x); `epilogue`: applied to each output as it is stored.
    func temporalConvDirect(x: Tensor, g: TemporalGeometry, weight: Tensor, bias: Tensor?, y: Tensor,
                            accumulate: Bool = false, epilogue: ChannelEpilogue? = nil) {
        precondition(!(accumulate && epilogue != nil), "temporalConvDirect: accumulate with an epilogue")
        let frames = directTileFrames(g), v = g.input.joints
        let inFrames = (frames - 1) * g.stride + g.kt
        let items = frames * v
        let tiles = (g.tout + frames - 1) / frames
        let ci = Self.directStagedInputs, co = Self.directOutputChannels
        let coGroups = (g.cout + co - 1) / co
        let a = g.kernelArgs, e = epilogueArgs(epilogue, placeholder: weight)
        let call = CLKernel.temporal_conv_direct(
            .tensor(x), .tensor(weight), .tensor(bias ?? weight), .tensor(y),
            a.c, a.n, a.t, a.v, a.kt, a.stride, a.pad, a.tout,
            .int(g.cout), .int(frames), .int(bias == nil ? 0 : 1), .int(accumulate ? 1 : 0),
            .int(epilogue == nil ? 0 : 1),
            e.scale, e.shift, e.residual, e.residualScale, e.hasResidual, e.hasResidualScale, e.relu,
            .localBytes(4 * ci * inFrames * v), .localBytes(4 * ci * g.kt * co))
        launch(call, global: [g.input.batch * tiles * items, coGroups], local: [items, 1])
    }

    // MARK: Shared pieces

    /// The im2col columns of a temporal convolution's input.
    func im2col(_ x: Tensor, _ g: TemporalGeometry, into columns: Tensor) {
        let a = g.kernelArgs
        launch(CLKernel.im2col_temporal(.tensor(x), .tensor(columns), a.c, a.n, a.t, a.v, a.kt, a.stride, a.pad,
                                        a.tout), count: g.rows * g.q)
    }

    /// y[r, c] += b[r].
    func addBiasRows(_ y: Tensor, _ b: Tensor, rows: Int, cols: Int) {
        launch(CLKernel.add_bias_rows(.tensor(y), .tensor(b), .int(rows), .int(cols)), count: rows * cols)
    }

    /// out[r] = Σ_c x[r, c]. Long rows are first cut into chunks reduced by separate
    /// work-groups, then each row's partials are summed (two deterministic passes).
    func rowSums(_ x: Tensor, into out: Tensor, rows: Int, cols: Int) {
        let chunk = 8192, groups = (cols + chunk - 1) / chunk
        if groups <= 1 {
            launch(CLKernel.row_sums(.tensor(x), .tensor(out), .int(cols), .localPerItem(4)), groups: rows)
            return
        }
        let partial = scratch(rows * groups, "row sums")
        let g = groupSize("reduce.cl", "row_sums_partial")
        launch(CLKernel.row_sums_partial(.tensor(x), .int(cols), .int(chunk), .int(groups), .tensor(partial),
                                         .localPerItem(4)), global: [groups * g, rows], local: [g, 1])
        launch(CLKernel.row_sums(.tensor(partial), .tensor(out), .int(groups), .localPerItem(4)), groups: rows)
    }
}

/// Sizes of a temporal convolution: kernel (kt, 1), padding (kt − 1)/2, stride s.
struct TemporalGeometry {
    let input: ActivationShape
    let kt, stride, pad, tout, cout: Int
    /// Rows of the im2col matrix (Cin·kt) and its columns (N·Tout·V).
    var rows: Int { input.channels * kt }
    var q: Int { input.batch * tout * input.joints }

    init(_ input: ActivationShape, _ kt: Int, _ stride: Int, cout: Int) {
        self.input = input
        self.kt = kt
        self.stride = stride
        self.cout = cout
        pad = (kt - 1) / 2
        tout = (input.frames + 2 * pad - kt) / stride + 1
    }

    /// C, N, T, V, kt, stride, pad, Tout: the geometry parameters of conv.cl's kernels, in their order.
    struct KernelArgs {
        let c, n, t, v, kt, stride, pad, tout: KernelIntArg
    }

    var kernelArgs: KernelArgs {
        KernelArgs(c: .int(input.channels), n: .int(input.batch), t: .int(input.frames), v: .int(input.joints),
                   kt: .int(kt), stride: .int(stride), pad: .int(pad), tout: .int(tout))
    }
}
