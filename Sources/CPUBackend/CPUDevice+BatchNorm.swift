import CPUKernels
import Foundation
import Compute

/// Batch norm over a channel-major (C, P) tensor with PyTorch's semantics: the biased
/// batch variance normalises, the unbiased one updates the running variance, and
/// running = (1 − momentum)·running + momentum·batch. Per-channel sums run in Double,
/// so a channel of a few hundred thousand elements keeps its precision; the statistics take
/// one pass over the channel (Σx and Σx² together), the normalisation a second.
extension CPUDevice {
    public func batchNormForward(x: Tensor, channels: Int, training: Bool, momentum: Float, epsilon: Float,
                                 gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                 savedMean: Tensor, savedInvStd: Tensor, relu: Bool, y: Tensor) {
        guard let cost = errors.check({
            try OpContract.batchNormForward(x: x, channels: channels, training: training, gamma: gamma, beta: beta,
                                            runningMean: runningMean, runningVar: runningVar, savedMean: savedMean,
                                            savedInvStd: savedInvStd, y: y)
        }) else { return }
        let c = channels
        let p = x.count / c
        let px = x.cpuPointer, py = y.cpuPointer, pg = gamma.cpuPointer, pb = beta.cpuPointer
        let prm = runningMean.cpuPointer, prv = runningVar.cpuPointer
        let psm = savedMean.cpuPointer, psi = savedInvStd.cpuPointer
        measure("batchNormForward", cost) {
            parallelFor(c, threads: threads, minimumPerChunk: max(1, 4096 / max(p, 1))) { range in
                for ch in range {
                    let xs = px + ch * p, ys = py + ch * p
                    let mean: Float, invStd: Float
                    if training {
                        let (sum, sumSquares) = sumAndSumOfSquaresDouble(xs, p)
                        let m = sum / Double(p)
                        // Σ(x − m)² = Σx² − p·m²: in Double the cancellation costs ~1e-16·(m/σ)²
                        // relative, far below float resolution for any activation.
                        let ss = max(sumSquares - sum * m, 0)
                        let biased = ss / Double(p)
                        let unbiased = p > 1 ? ss / Double(p - 1) : biased
                        mean = Float(m)
                        invStd = Float(1 / (biased + Double(epsilon)).squareRoot())
                        prm[ch] = (1 - momentum) * prm[ch] + momentum * mean
                        prv[ch] = (1 - momentum) * prv[ch] + momentum * Float(unbiased)
                    } else {
                        mean = prm[ch]
                        invStd = 1 / (prv[ch] + epsilon).squareRoot()
                    }
                    psm[ch] = mean
                    psi[ch] = invStd
                    let scale = pg[ch] * invStd
                    let shift = pb[ch] - mean * scale
                    if relu {
                        for i in 0 ..< p { ys[i] = max(xs[i] * scale + shift, 0) }
                    } else {
                        for i in 0 ..< p { ys[i] = xs[i] * scale + shift }
                    }
                }
            }
        }
    }

    public func batchNormBackward(x: Tensor, channels: Int, training: Bool, gamma: Tensor,
                                  savedMean: Tensor, savedInvStd: Tensor, dy: Tensor,
                                  dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        guard let cost = errors.check({
            try OpContract.batchNormBackward(x: x, channels: channels, gamma: gamma, savedMean: savedMean,
                                             savedInvStd: savedInvStd, dy: dy, dx: dx, dGamma: dGamma, dBeta: dBeta)
        }) else { return }
        let c = channels
        let p = x.count / c
        let px = x.cpuPointer, pdy = dy.cpuPointer, pdx = dx.cpuPointer, pg = gamma.cpuPointer
        let psm = savedMean.cpuPointer, psi = savedInvStd.cpuPointer
        let pdg = dGamma.cpuPointer, pdb = dBeta.cpuPointer
        measure("batchNormBackward", cost) {
            parallelFor(c, threads: threads, minimumPerChunk: max(1, 4096 / max(p, 1))) { range in
                for ch in range {
                    let xs = px + ch * p, gs = pdy + ch * p, ds = pdx + ch * p
                    let mean = psm[ch], invStd = psi[ch]
                    var sumDy = 0.0, sumDyXhat = 0.0
                    aimclr_sum_and_normalized_dot(gs, xs, p, mean, invStd, &sumDy, &sumDyXhat)
                    pdb[ch] = Float(sumDy)
                    pdg[ch] = Float(sumDyXhat)
                    let k = pg[ch] * invStd
                    if training {
                        // dx = γ·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂))
                        let meanDy = Float(sumDy / Double(p)), meanDyXhat = Float(sumDyXhat / Double(p))
                        for i in 0 ..< p {
                            let xhat = (xs[i] - mean) * invStd
                            ds[i] = k * (gs[i] - meanDy - xhat * meanDyXhat)
                        }
                    } else {
                        for i in 0 ..< p { ds[i] = k * gs[i] }
                    }
                }
            }
        }
    }
}
