import COpenCL
import Compute

/// ST-GCN graph convolution: one GEMM for the K·Cout channel mix, then the partition
/// aggregation with Â = A ⊙ E in local memory (`Kernels/graph.cl`).
extension OpenCLDevice {
    public func graphConvForward(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                 adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.graphConvForward(x: x, input: input, weight: weight, bias: bias, adjacency: adjacency,
                                            importance: importance, z: z, y: y)
        }) else { return }
        let k = adjacency.dim(0), v = input.joints
        let kc = weight.dim(0), cin = input.channels, p = input.plane
        let r = (kc / k) * input.batch * input.frames
        op("graphConvForward", cost) {
            sgemm(false, false, kc, p, cin, 1, mem(weight), 0, cin, mem(x), 0, p, 0, mem(z), 0, p)
            addBiasRows(z, bias, rows: kc, cols: p)
            aggregate(z: z, adjacency: adjacency, importance: importance, bias: nil, epilogue: nil, y: y,
                      k: k, r: r, v: v, nt: input.batch * input.frames)
        }
    }

    /// dImportance = (Σ_r z_kᵀ·dy) ⊙ A. Chunked reduction kernels where each work-item can hold
    /// its share of the K·V·V outputs, otherwise K tall-skinny GEMMs.
    private func importanceGradient(z: Tensor, dy: Tensor, adjacency: Tensor, dImportance: Tensor,
                                    k: Int, r: Int, v: Int) {
        let kvv = k * v * v
        let g = groupSize("graph.cl", "graph_dahat_partial")
        let tileBytes = (k + 1) * 32 * v * 4
        if importanceReductionKernels && kvv <= 16 * g && tileBytes <= info.localMemoryBytes {
            let chunk = 256, groups = (r + chunk - 1) / chunk
            let partial = scratch(groups * kvv, "graphConvBackward")
            launch(CLKernel.graph_dahat_partial(.tensor(z), .tensor(dy), .int(k), .int(r), .int(v), .int(chunk),
                                                .tensor(partial),
                                                .localBytes(tileBytes)), global: [groups * g], local: [g])
            launch(CLKernel.graph_dahat_finalize(.tensor(partial), .int(groups), .int(kvv), .tensor(adjacency),
                                                 .tensor(dImportance)), count: kvv)
            return
        }
        let dAhat = scratch(kvv, "graphConvBackward")
        for i in 0..<k {
            sgemm(true, false, v, v, r, 1, mem(z), i * r * v, v, mem(dy), 0, v, 0, mem(dAhat), i * v * v, v)
        }
        launch(CLKernel.mul_f32(.tensor(dAhat), .tensor(adjacency), .tensor(dImportance), .int(kvv)), count: kvv)
    }

    /// `graph_aggregate`: y = the aggregation of z over the partitions (with `bias` added inside
    /// it when z holds the channel mix without its bias), then `epilogue`.
    func aggregate(z: Tensor, adjacency: Tensor, importance: Tensor, bias: Tensor?, epilogue: ChannelEpilogue?,
                   y: Tensor, k: Int, r: Int, v: Int, nt: Int) {
        guard fitsLocalMemory(k * v * v * 4, "graph aggregation") else { return }
        let e = epilogueArgs(epilogue, placeholder: z)
        launch(CLKernel.graph_aggregate(.tensor(z), .tensor(adjacency), .tensor(importance), .tensor(bias ?? z),
                                        .tensor(y), .int(k), .int(r), .int(v), .int(nt), .int(bias == nil ? 0 : 1),
                                        .int(epilogue == nil ? 0 : 1), e.scale, e.shift, e.residual, e.residualScale,
                                        e.hasResidual, e.hasResidualScale, e.relu,
                                        .localBytes(k * v * v * 4)), count: r * v)
    }

    /// Â of all partitions must fit the work-group's local memory (7.5 KiB for K = 3, V = 25). A
    /// layout file with many joints can exceed it: the error is latched like a contract violation
    /// (reported by `checkErrors`, naming the sizes) and the op is skipped.
    private func fitsLocalMemory(_ bytes: Int, _ op: String) -> Bool {
        errors.check {
            guard bytes <= info.localMemoryBytes else {
                throw DeviceError.backend(op: op, detail: "adjacency needs \(bytes) bytes of local memory, "
                    + "device has \(info.localMemoryBytes); use fewer joints or the CPU backend")
            }
            return OpCost(bytes: 0)
        } != nil
    }

    public func graphConvBackward(x: Tensor, input: ActivationShape, weight: Tensor,
                                  adjacency: Tensor, importance: Tensor, z: Tensor, dy: Tensor,
                                  dz: Tensor, dx: Tensor?, accumulate: Bool,
                                  dWeight: Tensor, dBias: Tensor, dImportance: Tensor) {
        guard let cost = errors.check({
            try OpContract.graphConvBackward(x: x, input: input, weight: weight, adjacency: adjacency,
                                             importance: importance, z: z, dy: dy, dz: dz, dx: dx, dWeight: dWeight,
                                             dBias: dBias, dImportance: dImportance)
        }) else { return }
        let k = adjacency.dim(0), v = input.joints
        let kc = weight.dim(0), cin = input.channels, p = input.plane
        let r = (kc / k) * input.batch * input.frames
        guard fitsLocalMemory(k * v * v * 4, "graphConv") else { return }
        op("graphConvBackward", cost) {
            launch(CLKernel.graph_aggregate_backward(.tensor(dy), .tensor(adjacency), .tensor(importance), .tensor(dz),
                                                     .int(k), .int(r), .int(v),
                                                     .localBytes(k * v * v * 4)), count: k * r * v)
            importanceGradient(z: z, dy: dy, adjacency: adjacency, dImportance: dImportance, k: k, r: r, v: v)
            sgemm(false, true, kc, cin, p, 1, mem(dz), 0, p, mem(x), 0, p, 0, mem(dWeight), 0, cin)
            rowSums(dz, into: dBias, rows: kc, cols: p)
            if let dx {
                sgemm(true, false, cin, p, kc, 1, mem(weight), 0, cin, mem(dz), 0, p,
                      accumulate ? 1 : 0, mem(dx), 0, p)
            }
        }
    }
}
