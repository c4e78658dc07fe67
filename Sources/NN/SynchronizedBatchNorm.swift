import Compute
import DataParallel

/// Batch norm over a batch split across ranks (synchronised batch norm): every rank normalises
/// with the mean and variance of the whole global batch and back-propagates through them, so N
/// ranks with B/N samples each compute what one rank computes with B (up to summation order).
///
/// Built from the device's own batch-norm ops, so every backend gets it:
/// - forward: a training pass gives this rank's mean and 1/√(var+ε); the ranks' means and
///   variances are all-gathered and combined (in Double, rank order, so identically everywhere);
///   an evaluation-mode pass then normalises with the global statistics, and the running
///   statistics are updated from them identically on every rank.
/// - backward: the training backward with this rank's means of dy and dy·x̂, plus the difference
///   to the global means (the all-reduced Σdy and Σdy·x̂), a per-channel affine map of x added
///   by one epilogue pass.
/// Only 2·C values per layer cross the network in each direction; the activations never do.
public final class SynchronizedBatchNorm {
    let collective: Collective
    let globalMean: Tensor, globalVar: Tensor, unbiasedVar: Tensor
    /// The training pass must not touch the layer's running statistics.
    let discardMean: Tensor, discardVar: Tensor
    let dGammaLocal: Tensor, dBetaLocal: Tensor
    let correctionScale: Tensor, correctionShift: Tensor

    init(collective: Collective, device: Device, channels: Int) throws {
        self.collective = collective
        globalMean = try device.makeTensor([channels]); globalVar = try device.makeTensor([channels])
        unbiasedVar = try device.makeTensor([channels])
        discardMean = try device.makeTensor([channels]); discardVar = try device.makeTensor([channels])
        dGammaLocal = try device.makeTensor([channels]); dBetaLocal = try device.makeTensor([channels])
        correctionScale = try device.makeTensor([channels]); correctionShift = try device.makeTensor([channels])
    }

    func forward(_ bn: BatchNorm, x: Tensor, y: Tensor, saved: BatchNorm.Saved, relu: Bool) {
        let device = bn.weight.device
        let c = bn.channels, ranks = collective.size
        device.fill(discardMean, value: 0)
        device.fill(discardVar, value: 1)
        device.batchNormForward(x: x, channels: c, training: true, momentum: bn.momentum, epsilon: bn.epsilon,
                                gamma: bn.weight.value, beta: bn.bias.value, runningMean: discardMean,
                                runningVar: discardVar, savedMean: saved.mean, savedInvStd: saved.invStd,
                                relu: false, y: y)
        let mean = device.read(saved.mean), invStd = device.read(saved.invStd)
        // This rank's [mean, biased variance] per channel; every rank's, in rank order.
        var local = [Double](repeating: 0, count: 2 * c)
        for ch in 0 ..< c {
            let s = Double(invStd[ch])
            local[ch] = Double(mean[ch])
            local[c + ch] = max(1 / (s * s) - Double(bn.epsilon), 0)
        }
        let all = [Double](unsafeUninitializedCapacity: 2 * c * ranks) { out, n in
            local.withUnsafeBytes { collective.allGather($0, into: UnsafeMutableRawBufferPointer(out)) }
            n = 2 * c * ranks
        }
        // Equal parts: the global mean is the mean of the means, and the global variance the
        // mean of (variance + (mean − global mean)²), free of the cancellation of E[x²] − mean².
        let total = Double(x.count / c * ranks)
        var gMean = [Float](repeating: 0, count: c), gVar = gMean, gUnbiased = gMean
        for ch in 0 ..< c {
            var m = 0.0
            for r in 0 ..< ranks { m += all[r * 2 * c + ch] }
            m /= Double(ranks)
            var v = 0.0
            for r in 0 ..< ranks {
                let d = all[r * 2 * c + ch] - m
                v += all[r * 2 * c + c + ch] + d * d
            }
            v /= Double(ranks)
            gMean[ch] = Float(m)
            gVar[ch] = Float(v)
            gUnbiased[ch] = Float(total > 1 ? v * total / (total - 1) : v)
        }
        gMean.withUnsafeBufferPointer { device.upload($0, to: globalMean) }
        gVar.withUnsafeBufferPointer { device.upload($0, to: globalVar) }
        gUnbiased.withUnsafeBufferPointer { device.upload($0, to: unbiasedVar) }
        // Evaluation mode normalises with the given statistics and stores them in `saved`.
        device.batchNormForward(x: x, channels: c, training: false, momentum: bn.momentum, epsilon: bn.epsilon,
                                gamma: bn.weight.value, beta: bn.bias.value, runningMean: globalMean,
                                runningVar: globalVar, savedMean: saved.mean, savedInvStd: saved.invStd,
                                relu: relu, y: y)
        device.axpby(alpha: bn.momentum, x: globalMean, beta: 1 - bn.momentum, y: bn.runningMean.value)
        device.axpby(alpha: bn.momentum, x: unbiasedVar, beta: 1 - bn.momentum, y: bn.runningVar.value)
        saved.training = true
        saved.synchronized = true
    }

    func backward(_ bn: BatchNorm, x: Tensor, dy: Tensor, dx: Tensor, saved: BatchNorm.Saved) throws {
        let device = bn.weight.device
        let c = bn.channels
        let local = Double(x.count / c), total = local * Double(collective.size)
        // The device's own backward with this rank's means of dy and dy·x̂ ...
        device.batchNormBackward(x: x, channels: c, training: true, gamma: bn.weight.value, savedMean: saved.mean,
                                 savedInvStd: saved.invStd, dy: dy, dx: dx, dGamma: dGammaLocal, dBeta: dBetaLocal)
        let dGamma = device.read(dGammaLocal), dBeta = device.read(dBetaLocal)
        var sums = [Double](repeating: 0, count: 2 * c)
        for ch in 0 ..< c { sums[ch] = Double(dBeta[ch]); sums[c + ch] = Double(dGamma[ch]) }
        collective.allReduceSum(&sums)
        let gamma = device.read(bn.weight.value), mean = device.read(saved.mean), invStd = device.read(saved.invStd)
        // ... corrected to the global means: dx += γσ⁻¹·(Δ1 + x̂·Δ2), Δ = local mean − global mean
        // of dy and dy·x̂, an affine map of x (a·x + b) whose terms stay small.
        var scale = [Float](repeating: 0, count: c), shift = scale
        for ch in 0 ..< c {
            let k = Double(gamma[ch]) * Double(invStd[ch])
            let d1 = Double(dBeta[ch]) / local - sums[ch] / total
            let d2 = Double(dGamma[ch]) / local - sums[c + ch] / total
            let a = k * d2 * Double(invStd[ch])
            scale[ch] = Float(a)
            shift[ch] = Float(k * d1 - a * Double(mean[ch]))
        }
        scale.withUnsafeBufferPointer { device.upload($0, to: correctionScale) }
        shift.withUnsafeBufferPointer { device.upload($0, to: correctionShift) }
        device.applyEpilogue(ChannelEpilogue(scale: correctionScale, shift: correctionShift, residual: dx, relu: false),
                             x: x, channels: c, y: dx)
        // This rank's parameter gradients; the step's gradient all-reduce sums them over ranks.
        try bn.weight.accumulateGradient { device.copy(dGammaLocal, srcOffset: 0, to: $0, dstOffset: 0, count: c) }
        try bn.bias.accumulateGradient { device.copy(dBetaLocal, srcOffset: 0, to: $0, dstOffset: 0, count: c) }
    }
}

extension BatchNorm {
    /// Splits this layer's batch statistics over `collective`'s ranks (nil or one rank: off).
    public func synchronize(over collective: Collective?) throws {
        guard let c = collective, c.size > 1 else { synchronization = nil; return }
        synchronization = try SynchronizedBatchNorm(collective: c, device: weight.device, channels: channels)
    }
}

extension STGCN {
    /// Every batch-norm layer of the encoder (data BN and each block's) as synchronised batch
    /// norm over `collective`'s ranks; nil or a single rank keeps the single-device layers.
    public func synchronizeBatchNorm(over collective: Collective?) throws {
        var layers = [dataBN.bn]
        for block in blocks { layers += [block.bn1, block.bn2] + (block.residualBN.map { [$0] } ?? []) }
        if let norm = head.hiddenNorm { layers.append(norm) }
        for layer in layers { try layer.synchronize(over: collective) }
    }
}
