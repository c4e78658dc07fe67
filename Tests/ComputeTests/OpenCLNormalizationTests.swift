import Compute
import Foundation
import OpenCLBackend
import XCTest

/// Batch norm (train and eval, forward and backward) against a double-precision reference.
final class OpenCLNormalizationTests: XCTestCase {
    private struct BNReference {
        var y: [Float] = [], mean: [Float] = [], invStd: [Float] = [], runMean: [Float] = [], runVar: [Float] = []
        var dx: [Float] = [], dGamma: [Float] = [], dBeta: [Float] = []
    }

    private func reference(x: [Float], dy: [Float], c: Int, training: Bool, momentum: Float, eps: Float,
                           gamma: [Float], beta: [Float], rm: [Float], rv: [Float]) -> BNReference {
        let p = x.count / c
        var r = BNReference()
        r.y = x; r.dx = x
        for ch in 0..<c {
            let xs = x[ch * p ..< (ch + 1) * p].map(Double.init)
            let gs = dy[ch * p ..< (ch + 1) * p].map(Double.init)
            let mean: Double, invStd: Double
            if training {
                mean = xs.reduce(0, +) / Double(p)
                let m2 = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
                invStd = 1 / sqrt(m2 / Double(p) + Double(eps))
                r.runMean.append(Float((1 - Double(momentum)) * Double(rm[ch]) + Double(momentum) * mean))
                r.runVar.append(Float((1 - Double(momentum)) * Double(rv[ch]) + Double(momentum) * m2 / Double(p - 1)))
            } else {
                mean = Double(rm[ch]); invStd = 1 / sqrt(Double(rv[ch]) + Double(eps))
                r.runMean.append(rm[ch]); r.runVar.append(rv[ch])
            }
            r.mean.append(Float(mean)); r.invStd.append(Float(invStd))
            let xhat = xs.map { ($0 - mean) * invStd }
            let sdy = gs.reduce(0, +)
            var sdyx = 0.0
            for i in 0..<p { sdyx += gs[i] * xhat[i] }
            r.dBeta.append(Float(sdy)); r.dGamma.append(Float(sdyx))
            let g = Double(gamma[ch])
            for i in 0..<p {
                r.y[ch * p + i] = Float(xhat[i] * g + Double(beta[ch]))
                r.dx[ch * p + i] = training
                    ? Float(g * invStd * (gs[i] - sdy / Double(p) - xhat[i] * sdyx / Double(p)))
                    : Float(g * invStd * gs[i])
            }
        }
        return r
    }

    func testBatchNormTrainAndEvalForwardBackward() throws {
        let dev = try OpenCLTestDevice.get()
        // (channels, plane): a 16-channel ST-GCN activation with N·T·V = 4·50·25, and data BN (75, N·M·T)
        // whose statistics span several reduction chunks.
        for (c, p, training) in [(16, 5000, true), (75, 4 * 50, true), (16, 5000, false), (8, 9000, true)] {
            var rng = TestRandom(UInt64(41 + c + p))
            // An offset mean stresses the variance computation.
            let xv = rng.values(c * p, 2, 4), dyv = rng.values(c * p)
            let gv = rng.values(c, 0.5, 1.5), bv = rng.values(c), rmv = rng.values(c), rvv = rng.values(c, 0.5, 2)
            let x = try dev.tensor(xv, shape: [c, p]), dy = try dev.tensor(dyv, shape: [c, p])
            let gamma = try dev.tensor(gv, shape: [c]), beta = try dev.tensor(bv, shape: [c])
            let rm = try dev.tensor(rmv, shape: [c]), rv = try dev.tensor(rvv, shape: [c])
            let sm = try dev.makeTensor([c]), si = try dev.makeTensor([c]), y = try dev.makeTensor([c, p])
            dev.batchNormForward(x: x, channels: c, training: training, momentum: 0.1, epsilon: 1e-5, gamma: gamma,
                                 beta: beta, runningMean: rm, runningVar: rv, savedMean: sm, savedInvStd: si, relu: false, y: y)
            let ref = reference(x: xv, dy: dyv, c: c, training: training, momentum: 0.1, eps: 1e-5,
                                gamma: gv, beta: bv, rm: rmv, rv: rvv)
            let what = "batchNorm C \(c) P \(p) training \(training)"
            expectClose(dev.read(y), ref.y, abs: 2e-5, rel: 1e-4, what + " y")
            expectClose(dev.read(sm), ref.mean, abs: 1e-6, rel: 1e-5, what + " savedMean")
            expectClose(dev.read(si), ref.invStd, abs: 1e-6, rel: 1e-4, what + " savedInvStd")
            expectClose(dev.read(rm), ref.runMean, abs: 1e-6, rel: 1e-5, what + " runningMean")
            expectClose(dev.read(rv), ref.runVar, abs: 1e-6, rel: 1e-4, what + " runningVar")
            let dx = try dev.makeTensor([c, p]), dg = try dev.makeTensor([c]), db = try dev.makeTensor([c])
            dev.batchNormBackward(x: x, channels: c, training: training, gamma: gamma, savedMean: sm, savedInvStd: si,
                                  dy: dy, dx: dx, dGamma: dg, dBeta: db)
            expectClose(dev.read(dx), ref.dx, abs: 2e-5, rel: 1e-3, what + " dx")
            expectClose(dev.read(dg), ref.dGamma, abs: 1e-3, rel: 1e-4, what + " dGamma")
            expectClose(dev.read(db), ref.dBeta, abs: 1e-3, rel: 1e-4, what + " dBeta")
        }
    }
}
