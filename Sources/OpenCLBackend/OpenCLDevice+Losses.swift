import COpenCL
import Compute

/// Cross-entropy losses (`Kernels/losses.cl`): per-row losses and gradients in one work-group
/// per row, then a single work-group writes the mean into `loss[0]`. Nothing returns to the host.
extension OpenCLDevice {
    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        crossEntropy("softmaxCrossEntropy", CLKernel.softmax_xent_rows, perRow: true, logits, labels, scale, loss,
                     dLogits)
    }

    public func softTargetCrossEntropy(logits: Tensor, targetLogits: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        crossEntropy("softTargetCrossEntropy", CLKernel.soft_xent_rows, perRow: false, logits, targetLogits, scale,
                     loss, dLogits)
    }

    public func maskedCrossEntropy(logits: Tensor, positives: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        crossEntropy("maskedCrossEntropy", CLKernel.masked_xent_rows, perRow: false, logits, positives, scale, loss,
                     dLogits)
    }

    /// The three row kernels share one signature (logits, labels or targets, K, scale, row loss,
    /// dLogits, hasGradient, scratch).
    typealias RowLossKernel = (KernelBufferArg, KernelBufferArg, KernelIntArg, KernelFloatArg, KernelBufferArg,
                               KernelBufferArg, KernelIntArg, KernelLocalArg) -> KernelCall

    private func crossEntropy(_ name: String, _ rowKernel: RowLossKernel, perRow: Bool, _ logits: Tensor,
                              _ second: Tensor,
                              _ scale: Float, _ loss: Tensor, _ dLogits: Tensor?) {
        guard let cost = errors.check({
            try OpContract.crossEntropy(name, logits: logits, second: second, perRow: perRow,
                                        loss: loss, dLogits: dLogits)
        }) else { return }
        let (b, k) = OpContract.rowsAndWidth(logits)
        guard b > 0 else {
            fill(loss, value: 0)   // the mean over no rows, as the CPU backend writes it
            return
        }
        op(name, cost) {
            let rowLoss = scratch(b, name)
            launch(rowKernel(.tensor(logits), .tensor(second), .int(k), .float(scale / Float(b)), .tensor(rowLoss),
                             .tensor(dLogits ?? rowLoss), .int(dLogits == nil ? 0 : 1), .localPerItem(4)), groups: b)
            launch(CLKernel.mean_to_scalar(.tensor(rowLoss), .int(b), .tensor(loss), .localPerItem(4)), groups: 1)
        }
    }

    // MARK: MoCo logits, NNM, queue

    public func contrastiveLogits(q: Tensor, k: Tensor, queue: Tensor, temperature: Float, logits: Tensor) {
        guard let cost = errors.check({
            try OpContract.contrastiveLogits("contrastiveLogits", q: q, k: k, queue: queue, logits: logits)
        }) else { return }
        let b = q.dim(0), d = q.dim(1), kq = queue.dim(1), ld = 1 + kq
        op("contrastiveLogits", cost) {
            let inv = 1 / temperature
            launch(CLKernel.row_dot_scaled(.tensor(q), .tensor(k), .tensor(logits), .int(d), .int(ld), .float(inv),
                                           .localPerItem(4)), groups: b)
            sgemm(false, false, b, kq, d, inv, mem(q), 0, d, mem(queue), 0, kq, 0, mem(logits), 1, ld)
        }
    }

    public func contrastiveLogitsBackward(k: Tensor, queue: Tensor, temperature: Float, dLogits: Tensor, dq: Tensor) {
        guard let cost = errors.check({
            try OpContract.contrastiveLogits("contrastiveLogitsBackward", q: dq, k: k, queue: queue, logits: dLogits)
        }) else { return }
        let b = dq.dim(0), d = dq.dim(1), kq = queue.dim(1), ld = 1 + kq
        op("contrastiveLogitsBackward", cost) {
            let inv = 1 / temperature
            sgemm(false, true, b, d, kq, inv, mem(dLogits), 1, ld, mem(queue), 0, kq, 0, mem(dq), 0, d)
            launch(CLKernel.add_positive_grad(.tensor(dq), .tensor(dLogits), .tensor(k), .int(b), .int(d), .int(ld),
                                              .float(inv)), count: b * d)
        }
    }

    public func nearestNeighbourMask(similarities: [Tensor], topK: Int, mask: Tensor) {
        guard let cost = errors.check({
            try OpContract.nearestNeighbourMask(similarities: similarities, topK: topK, mask: mask)
        }) else { return }
        let b = mask.dim(0), cols = mask.dim(1)
        op("nearestNeighbourMask", cost) {
            launch(CLKernel.nnm_init(.tensor(mask), .int(cols), .int(b * cols)), count: b * cols)
            guard topK > 0 else { return }
            for sim in similarities {
                launch(CLKernel.nnm_topk(.tensor(sim), .tensor(mask), .int(cols), .int(topK), .localPerItem(4),
                                         .localPerItem(4)), groups: b)
            }
        }
    }

    public func enqueue(keys: Tensor, queue: Tensor, pointer: Int) {
        guard let cost = errors.check({ try OpContract.enqueue(keys: keys, queue: queue, pointer: pointer) })
        else { return }
        let b = keys.dim(0), d = keys.dim(1), kq = queue.dim(1)
        op("enqueue", cost) {
            launch(CLKernel.enqueue_keys(.tensor(keys), .tensor(queue), .int(b), .int(d), .int(kq),
                                         .int(pointer)), count: b * d)
        }
    }
}
