import Foundation
import Compute
import CPUKernels

/// Cross-entropy losses over (B, K) logits. Each row is a max-subtracted log-sum-exp (sums
/// in Double), so logits of a few hundred (1/τ = 5 times a cosine, or worse) cannot overflow.
/// dLogits may be the logits tensor itself: every element is read before it is overwritten.
extension CPUDevice {
    /// Runs `row(r) -> loss_r` over all rows in parallel and writes mean_r loss_r to `loss`.
    private func meanOverRows(_ rows: Int, width: Int, into loss: Tensor, _ row: (Int) -> Double) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: max(rows, 1)) { perRow in
            let base = perRow.baseAddress!
            parallelFor(rows, threads: threads, minimumPerChunk: max(1, 16384 / max(width, 1))) { r in
                for i in r { base[i] = row(i) }
            }
            var s = 0.0
            for i in 0 ..< rows { s += base[i] }
            loss.cpuPointer[0] = rows > 0 ? Float(s / Double(rows)) : 0
        }
    }

    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        guard let cost = errors.check({
            try OpContract.crossEntropy("softmaxCrossEntropy", logits: logits, second: labels, perRow: true, loss: loss,
                                        dLogits: dLogits)
        }) else { return }
        let (b, k) = OpContract.rowsAndWidth(logits)
        let pl = logits.cpuPointer, plab = labels.cpuPointer, pd = dLogits?.cpuPointer
        let g = Double(scale) / Double(max(b, 1))
        measure("softmaxCrossEntropy", cost) {
            meanOverRows(b, width: k, into: loss) { r in
                let x = pl + r * k
                let label = Int(plab[r])
                precondition(label >= 0 && label < k, "softmaxCrossEntropy: label \(plab[r]) of row \(r) outside 0 ..< \(k)")
                let xLabel = Double(x[label])
                guard let d = pd.map({ $0 + r * k }) else {
                    let (mx, sum) = softmaxDenominator(x, k, storing: nil)
                    return Double(mx) + log(sum) - xLabel
                }
                // The exponentials go to dLogits first, then are normalised in place.
                let (mx, sum) = softmaxDenominator(x, k, storing: d)
                let norm = Float(g / sum)
                for j in 0 ..< k { d[j] *= norm }
                d[label] -= Float(g)
                return Double(mx) + log(sum) - xLabel
            }
        }
    }

    public func softTargetCrossEntropy(logits: Tensor, targetLogits: Tensor, scale: Float, loss: Tensor,
                                      dLogits: Tensor?) {
        guard let cost = errors.check({
            try OpContract.crossEntropy("softTargetCrossEntropy", logits: logits, second: targetLogits, perRow: false,
                                        loss: loss, dLogits: dLogits)
        }) else { return }
        let (b, k) = OpContract.rowsAndWidth(logits)
        let pl = logits.cpuPointer, pt = targetLogits.cpuPointer, pd = dLogits?.cpuPointer
        let g = Double(scale) / Double(max(b, 1))
        measure("softTargetCrossEntropy", cost) {
            meanOverRows(b, width: k, into: loss) { r in
                let x = pl + r * k, t = pt + r * k
                let d = pd.map { $0 + r * k }
                return withUnsafeTemporaryAllocation(of: Float.self, capacity: max(2 * k, 1)) { buffer in
                    let et = buffer.baseAddress!, ex = et + k
                    let (_, targetSum) = softmaxDenominator(t, k, storing: et)
                    let (mx, sum) = softmaxDenominator(x, k, storing: ex)
                    let lse = Double(mx) + log(sum)
                    let invTarget = 1 / targetSum, invSum = 1 / sum
                    var s = 0.0
                    for j in 0 ..< k {
                        let p = Double(et[j]) * invTarget
                        s -= p * (Double(x[j]) - lse)
                        if let d { d[j] = Float((Double(ex[j]) * invSum - p) * g) }
                    }
                    return s
                }
            }
        }
    }

    /// A row without positives contributes zero loss and zero gradient.
    public func maskedCrossEntropy(logits: Tensor, positives: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        guard let cost = errors.check({
            try OpContract.crossEntropy("maskedCrossEntropy", logits: logits, second: positives, perRow: false,
                                        loss: loss, dLogits: dLogits)
        }) else { return }
        let (b, k) = OpContract.rowsAndWidth(logits)
        let pl = logits.cpuPointer, pm = positives.cpuPointer, pd = dLogits?.cpuPointer
        let g = Double(scale) / Double(max(b, 1))
        measure("maskedCrossEntropy", cost) {
            meanOverRows(b, width: k, into: loss) { r in
                let x = pl + r * k, m = pm + r * k
                let count = sumDouble(m, k)
                guard count > 0 else {
                    if let pd { (pd + r * k).update(repeating: 0, count: k) }
                    return 0
                }
                let (mx, sum) = softmaxDenominator(x, k, storing: nil)
                let lse = Double(mx) + log(sum)
                var s = 0.0
                for j in 0 ..< k where m[j] != 0 { s += Double(m[j]) * (Double(x[j]) - lse) }
                if let d = pd.map({ $0 + r * k }) {
                    // softmax_j = exp(x_j − lse); one more exp per element, but x is read
                    // before d is written, so dLogits may alias logits.
                    for j in 0 ..< k {
                        let softmax = Double(exp(x[j] - mx)) / sum
                        d[j] = Float((softmax - Double(m[j]) / count) * g)
                    }
                }
                return -s / count
            }
        }
    }
}

/// The max of a row and Σ_j exp(x_j − max): the exponentials in Float (accurate to about an ulp after
/// the max is subtracted, so none overflows), their sum in Double. With `storing`, the
/// exponentials are kept for the gradient, so each element costs one exp.
/// log-sum-exp = max + log(sum).
@inline(__always)
func softmaxDenominator(_ x: UnsafePointer<Float>, _ n: Int,
                        storing e: UnsafeMutablePointer<Float>?) -> (max: Float, sum: Double) {
    var mx = -Float.infinity
    for j in 0 ..< n { mx = max(mx, x[j]) }
    // An all −∞ row (or a +∞ max) has no finite shift; its softmax is undefined (NaN), as in PyTorch.
    guard mx.isFinite else {
        e?.update(repeating: .nan, count: n)
        return (mx, .nan)
    }
    return (mx, aimclr_exp_sum(x, n, mx, e))
}
