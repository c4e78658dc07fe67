import COpenCL
import Compute

/// Cross-entropy losses (`Kernels/losses.cl`): per-row losses and gradients in one work-group
/// per row, then a single work-group writes the mean into `loss[0]`. Nothing returns to the host.
extension OpenCLDevice {
    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        crossEntropy("softmaxCrossEntropy", CLKernel.softmax_xent_rows, logits, labels, scale, loss, dLogits)
    }

    public func softTargetCrossEntropy(logits: Tensor, targetLogits: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        crossEntropy("softTargetCrossEntropy", CLKernel.soft_xent_rows, logits, targetLogits, scale, loss, dLogits)
    }

    public func maskedCrossEntropy(logits: Tensor, positives: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        crossEntropy("maskedCrossEntropy", CLKernel.masked_xent_rows, logits, positives, scale, loss, dLogits)
    }

    /// The three row kernels share one signature (logits, labels or targets, K, scale, row loss,
    /// dLogits, hasGradient, scratch).
    typealias RowLossKernel = (KernelBufferArg, KernelBufferArg, KernelIntArg, KernelFloatArg, KernelBufferArg,
                               KernelBufferArg, KernelIntArg, KernelLocalArg) -> KernelCall

    private func crossEntropy(_ name: String, _ rowKernel: RowLossKernel, _ logits: Tensor, _ second: Tensor,
                              _ scale: Float, _ loss: Tensor, _ dLogits: Tensor?) {
        let b = logits.dim(0), k = logits.count / b
        op(name, flops: 6 * Double(b * k), bytes: 4 * Double(b * k) * (dLogits == nil ? 2 : 3)) {
            let rowLoss = scratch(b, name)
            launch(rowKernel(.tensor(logits), .tensor(second), .int(k), .float(scale / Float(b)), .tensor(rowLoss),
                             .tensor(dLogits ?? rowLoss), .int(dLogits == nil ? 0 : 1), .localPerItem(4)), groups: b)
            launch(CLKernel.mean_to_scalar(.tensor(rowLoss), .int(b), .tensor(loss), .localPerItem(4)), groups: 1)
        }
    }

    // MARK: MoCo logits, NNM, queue

    public func contrastiveLogits(q: Tensor, k: Tensor, queue: Tensor, temperature: Float, logits: Tensor) {
        let b = q.dim(0), d = q.count / b, kq = queue.count / d, ld = 1 + kq
        let flops: Double = 2 * Double(b * d * ld)
        let elements: Int = 2 * b * d + d * kq + b * ld
        let bytes = 4 * Double(elements)
        op("contrastiveLogits", flops: flops, bytes: bytes) {
            let inv = 1 / temperature
            launch(CLKernel.row_dot_scaled(.tensor(q), .tensor(k), .tensor(logits), .int(d), .int(ld), .float(inv),
                                           .localPerItem(4)), groups: b)
            sgemm(false, false, b, kq, d, inv, mem(q), 0, d, mem(queue), 0, kq, 0, mem(logits), 1, ld)
        }
    }

    public func contrastiveLogitsBackward(k: Tensor, queue: Tensor, temperature: Float, dLogits: Tensor, dq: Tensor) {
        let b = k.dim(0), d = k.count / b, kq = queue.count / d, ld = 1 + kq
        let flops: Double = 2 * Double(b * d * ld)
        let elements: Int = 2 * b * d + d * kq + b * ld
        let bytes = 4 * Double(elements)
        op("contrastiveLogitsBackward", flops: flops, bytes: bytes) {
            let inv = 1 / temperature
            sgemm(false, true, b, d, kq, inv, mem(dLogits), 1, ld, mem(queue), 0, kq, 0, mem(dq), 0, d)
            launch(CLKernel.add_positive_grad(.tensor(dq), .tensor(dLogits), .tensor(k), .int(b), .int(d), .int(ld),
                                              .float(inv)), count: b * d)
        }
    }

    public func nearestNeighbourMask(similarities: [Tensor], topK: Int, mask: Tensor) {
        let b = mask.dim(0), cols = mask.count / b
        let flops: Double = Double(similarities.count * topK * b * cols)
        let elements: Int = (similarities.count * topK + 1) * b * cols
        let bytes = 4 * Double(elements)
        op("nearestNeighbourMask", flops: flops, bytes: bytes) {
            launch(CLKernel.nnm_init(.tensor(mask), .int(cols), .int(b * cols)), count: b * cols)
            guard topK > 0 else { return }
            for sim in similarities {
                launch(CLKernel.nnm_topk(.tensor(sim), .tensor(mask), .int(cols), .int(topK), .localPerItem(4),
                                         .localPerItem(4)), groups: b)
            }
        }
    }

    public func enqueue(keys: Tensor, queue: Tensor, pointer: Int) {
        let b = keys.dim(0), d = keys.count / b, kq = queue.count / d
        op("enqueue", bytes: 8 * Double(b * d)) {
            launch(CLKernel.enqueue_keys(.tensor(keys), .tensor(queue), .int(b), .int(d), .int(kq),
                                         .int(pointer)), count: b * d)
        }
    }
}
