import Foundation
import Compute

/// Cross-entropy losses over (B, K) logits. Each row is a max-subtracted log-sum-exp in
/// Double, so logits of a few hundred (1/τ = 5 times a cosine, or worse) cannot overflow.
extension CPUDevice {
    private func lossGeometry(_ op: String, _ logits: Tensor, _ loss: Tensor, _ d: Tensor?) -> (Int, Int) {
        precondition(logits.shape.count >= 1 && loss.count >= 1, "\(op): logits \(logits.shape), loss \(loss.shape)")
        let b = logits.dim(0)
        let k = b == 0 ? 0 : logits.count / b
        precondition(d == nil || d!.count >= b * k, "\(op): dLogits \(d!.shape) for logits \(logits.shape)")
        return (b, k)
    }

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
        let (b, k) = lossGeometry("softmaxCrossEntropy", logits, loss, dLogits)
        precondition(labels.count >= b, "softmaxCrossEntropy: labels \(labels.shape) for \(b) rows")
        let pl = logits.cpuPointer, plab = labels.cpuPointer, pd = dLogits?.cpuPointer
        let g = Double(scale) / Double(max(b, 1))
        measure("softmaxCrossEntropy", bytes: Double(8 * b * k)) {
            meanOverRows(b, width: k, into: loss) { r in
                let x = pl + r * k
                let label = Int(plab[r])
                precondition(label >= 0 && label < k, "softmaxCrossEntropy: label \(plab[r]) of row \(r) outside 0 ..< \(k)")
                let lse = logSumExp(x, k)
                if let pd {
                    let d = pd + r * k
                    for j in 0 ..< k { d[j] = Float(exp(Double(x[j]) - lse) * g) }
                    d[label] -= Float(g)
                }
                return lse - Double(x[label])
            }
        }
    }

    public func softTargetCrossEntropy(logits: Tensor, targetLogits: Tensor, scale: Float, loss: Tensor,
                                      dLogits: Tensor?) {
        let (b, k) = lossGeometry("softTargetCrossEntropy", logits, loss, dLogits)
        precondition(targetLogits.count >= b * k,
                     "softTargetCrossEntropy: targetLogits \(targetLogits.shape) vs logits \(logits.shape)")
        let pl = logits.cpuPointer, pt = targetLogits.cpuPointer, pd = dLogits?.cpuPointer
        let g = Double(scale) / Double(max(b, 1))
        measure("softTargetCrossEntropy", bytes: Double(12 * b * k)) {
            meanOverRows(b, width: k, into: loss) { r in
                let x = pl + r * k, t = pt + r * k
                let lse = logSumExp(x, k), tlse = logSumExp(t, k)
                var s = 0.0
                for j in 0 ..< k {
                    let p = exp(Double(t[j]) - tlse)
                    s -= p * (Double(x[j]) - lse)
                    if let pd { pd[r * k + j] = Float((exp(Double(x[j]) - lse) - p) * g) }
                }
                return s
            }
        }
    }

    /// A row without positives contributes zero loss and zero gradient.
    public func maskedCrossEntropy(logits: Tensor, positives: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?) {
        let (b, k) = lossGeometry("maskedCrossEntropy", logits, loss, dLogits)
        precondition(positives.count >= b * k, "maskedCrossEntropy: positives \(positives.shape) vs logits \(logits.shape)")
        let pl = logits.cpuPointer, pm = positives.cpuPointer, pd = dLogits?.cpuPointer
        let g = Double(scale) / Double(max(b, 1))
        measure("maskedCrossEntropy", bytes: Double(12 * b * k)) {
            meanOverRows(b, width: k, into: loss) { r in
                let x = pl + r * k, m = pm + r * k
                let count = sumDouble(m, k)
                guard count > 0 else {
                    if let pd { (pd + r * k).update(repeating: 0, count: k) }
                    return 0
                }
                let lse = logSumExp(x, k)
                var s = 0.0
                for j in 0 ..< k where m[j] != 0 { s += Double(m[j]) * (Double(x[j]) - lse) }
                if let pd {
                    let d = pd + r * k
                    for j in 0 ..< k {
                        d[j] = Float((exp(Double(x[j]) - lse) - Double(m[j]) / count) * g)
                    }
                }
                return -s / count
            }
        }
    }
}

/// log Σ_j exp(x_j), max-subtracted, in Double.
@inline(__always)
func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var mx = -Float.infinity
    for j in 0 ..< n { mx = max(mx, x[j]) }
    if mx == -.infinity { return mx.isNaN ? .nan : -.infinity }
    let m = Double(mx)
    var s = 0.0
    for j in 0 ..< n { s += exp(Double(x[j]) - m) }
    return m + log(s)
}
