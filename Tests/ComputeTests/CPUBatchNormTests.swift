import XCTest
import Compute
import CPUBackend

/// Batch norm against the Double reference in (N, C, L) layout.
/// Tolerances: outputs are O(1) normalised values from float data → abs 1e-4 + rel 1e-4;
/// gradients (sums over P ≤ 800 terms) → abs 1e-3 + rel 1e-3; finite differences are
/// central in Double with h = 1e-4 (error O(h²) ≈ 1e-8 relative on this smooth function).
final class CPUBatchNormTests: XCTestCase {
    let device = CPUDevice(threads: 2)

    func testTrainingForwardRunningStatsAndBackward() throws {
        try check(n: 4, c: 6, l: 8 * 25, fdSamples: 40)
        try check(n: 4, c: 3, l: 5, fdSamples: 1000)
    }

    /// The same on every path of the channel sums this CPU runs (portable C, AVX2, AVX-512).
    func testChannelSumsOnEveryKernelPath() throws {
        try CPUKernelPath.forEachSupported { _ in
            try check(n: 4, c: 6, l: 8 * 25, fdSamples: 40)
            try check(n: 4, c: 3, l: 5, fdSamples: 1000)
        }
    }

    private func check(n: Int, c: Int, l: Int, fdSamples: Int) throws {
        var rng = RefRandom(seed: UInt64(400 + l))
        // An offset and a spread per channel, so mean and variance matter.
        var x = rng.values(n * c * l)
        for b in 0 ..< n { for ch in 0 ..< c { for i in 0 ..< l {
            x[(b * c + ch) * l + i] = Double(Float(x[(b * c + ch) * l + i] * Double(ch + 1) + Double(ch) - 1))
        } } }
        let gamma = rng.values(c, 0.5, 1.5), beta = rng.values(c)
        let rm0 = rng.values(c), rv0 = rng.values(c, 0.5, 2)
        let eps = 1e-5, momentum = 0.1
        let ref = Ref.batchNormTrain(x, n: n, c: c, l: l, gamma: gamma, beta: beta, eps: eps)

        let xt = try device.tensor(Ref.toChannelMajor(x, n: n, c: c, t: 1, v: l), [c, n, l])
        let gt = try device.tensor(gamma, [c]), bt = try device.tensor(beta, [c])
        let rmt = try device.tensor(rm0, [c]), rvt = try device.tensor(rv0, [c])
        let smt = try device.makeTensor([c]), sit = try device.makeTensor([c])
        let yt = try device.makeTensor([c, n, l])
        device.batchNormForward(x: xt, channels: c, training: true, momentum: Float(momentum), epsilon: Float(eps),
                                gamma: gt, beta: bt, runningMean: rmt, runningVar: rvt,
                                savedMean: smt, savedInvStd: sit, relu: false, y: yt)
        assertClose(device.read(yt), Ref.toChannelMajor(ref.y, n: n, c: c, t: 1, v: l), abs: 1e-4, rel: 1e-4,
                    "batch norm train forward")
        // Fused ReLU: the same values clipped at 0 (running stats advance once more; restored below).
        let rm1 = device.read(rmt), rv1 = device.read(rvt)
        let yr = try device.makeTensor([c, n, l])
        device.batchNormForward(x: xt, channels: c, training: true, momentum: Float(momentum), epsilon: Float(eps),
                                gamma: gt, beta: bt, runningMean: rmt, runningVar: rvt,
                                savedMean: smt, savedInvStd: sit, relu: true, y: yr)
        XCTAssertEqual(device.read(yr), device.read(yt).map { max($0, 0) }, "batch norm + ReLU forward")
        device.write(rm1.map(Double.init), to: rmt)
        device.write(rv1.map(Double.init), to: rvt)
        assertClose(device.read(smt), ref.mean, abs: 1e-5, rel: 1e-5, "saved mean")
        assertClose(device.read(sit), ref.biased.map { 1 / ($0 + eps).squareRoot() }, abs: 1e-5, rel: 1e-5,
                    "saved inverse std (biased variance)")
        let rmRef = zip(rm0, ref.mean).map { (1 - momentum) * $0 + momentum * $1 }
        let rvRef = zip(rv0, ref.unbiased).map { (1 - momentum) * $0 + momentum * $1 }
        assertClose(device.read(rmt), rmRef, abs: 1e-5, rel: 1e-5, "running mean")
        assertClose(device.read(rvt), rvRef, abs: 1e-5, rel: 1e-5, "running variance (unbiased)")

        // Training backward vs finite differences (batch statistics move with x).
        let dy = rng.values(x.count)
        let dyt = try device.tensor(Ref.toChannelMajor(dy, n: n, c: c, t: 1, v: l), [c, n, l])
        let dxt = try device.makeTensor([c, n, l]), dgt = try device.makeTensor([c]), dbt = try device.makeTensor([c])
        device.batchNormBackward(x: xt, channels: c, training: true, gamma: gt, savedMean: smt, savedInvStd: sit,
                                 dy: dyt, dx: dxt, dGamma: dgt, dBeta: dbt)
        let trainLoss = { (xx: [Double], gg: [Double], bb: [Double]) -> Double in
            dotLoss(Ref.batchNormTrain(xx, n: n, c: c, l: l, gamma: gg, beta: bb, eps: eps).y, dy)
        }
        let dx = device.read(dxt)
        let xi = sampleIndices(x.count, fdSamples, rng: &rng)
        assertClose(xi.map { dx[Ref.toChannelMajorIndex($0, n: n, c: c, t: 1, v: l)] },
                    numericalGradient(at: x, indices: xi) { trainLoss($0, gamma, beta) },
                    abs: 1e-3, rel: 1e-3, "batch norm train dx vs finite differences")
        assertClose(device.read(dgt), numericalGradient(at: gamma, indices: Array(0 ..< c)) { trainLoss(x, $0, beta) },
                    abs: 1e-3, rel: 1e-3, "batch norm dGamma vs finite differences")
        assertClose(device.read(dbt), numericalGradient(at: beta, indices: Array(0 ..< c)) { trainLoss(x, gamma, $0) },
                    abs: 1e-3, rel: 1e-3, "batch norm dBeta vs finite differences")

        // Eval mode: running statistics, no update, saved* hold them for the backward.
        let rmNow = device.read(rmt).doubles, rvNow = device.read(rvt).doubles
        device.batchNormForward(x: xt, channels: c, training: false, momentum: Float(momentum), epsilon: Float(eps),
                                gamma: gt, beta: bt, runningMean: rmt, runningVar: rvt,
                                savedMean: smt, savedInvStd: sit, relu: false, y: yt)
        let evalRef = Ref.batchNormEval(x, n: n, c: c, l: l, gamma: gamma, beta: beta, mean: rmNow,
                                        variance: rvNow, eps: eps)
        assertClose(device.read(yt), Ref.toChannelMajor(evalRef, n: n, c: c, t: 1, v: l), abs: 1e-4, rel: 1e-4,
                    "batch norm eval forward")
        XCTAssertEqual(device.read(rmt).doubles, rmNow, "eval must not update the running mean")
        XCTAssertEqual(device.read(rvt).doubles, rvNow, "eval must not update the running variance")

        device.batchNormBackward(x: xt, channels: c, training: false, gamma: gt, savedMean: smt, savedInvStd: sit,
                                 dy: dyt, dx: dxt, dGamma: dgt, dBeta: dbt)
        let evalLoss = { (xx: [Double], gg: [Double], bb: [Double]) -> Double in
            dotLoss(Ref.batchNormEval(xx, n: n, c: c, l: l, gamma: gg, beta: bb, mean: rmNow, variance: rvNow,
                                      eps: eps), dy)
        }
        let dxEval = device.read(dxt)
        assertClose(xi.map { dxEval[Ref.toChannelMajorIndex($0, n: n, c: c, t: 1, v: l)] },
                    numericalGradient(at: x, indices: xi) { evalLoss($0, gamma, beta) },
                    abs: 1e-3, rel: 1e-3, "batch norm eval dx vs finite differences")
        assertClose(device.read(dgt), numericalGradient(at: gamma, indices: Array(0 ..< c)) { evalLoss(x, $0, beta) },
                    abs: 1e-3, rel: 1e-3, "batch norm eval dGamma vs finite differences")
        assertClose(device.read(dbt), numericalGradient(at: beta, indices: Array(0 ..< c)) { evalLoss(x, gamma, $0) },
                    abs: 1e-3, rel: 1e-3, "batch norm eval dBeta vs finite differences")
    }

    /// A large offset with a tiny spread: naive float sums of x² would lose the variance.
    func testLargeOffsetKeepsVariance() throws {
        let c = 2, p = 50_000
        var rng = RefRandom(seed: 401)
        let x = (0 ..< c * p).map { i in Double(Float(1000 + (i / p == 0 ? 1 : 0.01) * rng.uniform())) }
        let xt = try device.tensor(x, [c, p])
        let ones = try device.tensor(filledWith: 1, shape: [c]), zeros = try device.tensor(filledWith: 0, shape: [c])
        let rm = try device.tensor(filledWith: 0, shape: [c]), rv = try device.tensor(filledWith: 1, shape: [c])
        let sm = try device.makeTensor([c]), si = try device.makeTensor([c]), y = try device.makeTensor([c, p])
        device.batchNormForward(x: xt, channels: c, training: true, momentum: 0.1, epsilon: 0,
                                gamma: ones, beta: zeros, runningMean: rm, runningVar: rv,
                                savedMean: sm, savedInvStd: si, relu: false, y: y)
        for ch in 0 ..< c {
            let row = Array(x[ch * p ..< (ch + 1) * p])
            let mean = row.reduce(0, +) / Double(p)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(p)
            XCTAssertEqual(Double(device.read(si)[ch]), 1 / variance.squareRoot(), accuracy: 1e-3 / variance.squareRoot(),
                           "channel \(ch) inverse std")
        }
    }
}
