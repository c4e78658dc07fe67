import Compute
import Foundation
import OpenCLBackend
import XCTest

/// SGD with momentum and weight decay, the momentum-encoder update and Σx².
final class OpenCLOptimizerTests: XCTestCase {
    func testSGDStepsMatchPyTorchSemantics() throws {
        let dev = try OpenCLTestDevice.get()
        for nesterov in [false, true] {
            var rng = TestRandom(91)
            let n = 3001
            var w = rng.values(n), buf = [Float](repeating: 0, count: n)
            let wt = try dev.tensor(w, shape: [n]), bt = try dev.tensor(filledWith: .nan, shape: [n])
            let lr: Float = 0.1, mom: Float = 0.9, wd: Float = 1e-4
            for step in 0..<3 {
                let g = rng.values(n)
                let gt = try dev.tensor(g, shape: [n])
                dev.sgdStep(weight: wt, grad: gt, momentumBuffer: bt, learningRate: lr, momentum: mom,
                            weightDecay: wd, firstStep: step == 0, nesterov: nesterov)
                for i in 0..<n {
                    let d = g[i] + wd * w[i]
                    buf[i] = step == 0 ? d : mom * buf[i] + d
                    w[i] = w[i] - lr * (nesterov ? d + mom * buf[i] : buf[i])
                }
                expectClose(dev.read(wt), w, abs: 1e-7, rel: 1e-6, "sgd (nesterov \(nesterov)) weights step \(step)")
                expectClose(dev.read(bt), buf, abs: 1e-7, rel: 1e-6, "sgd (nesterov \(nesterov)) buffer step \(step)")
            }
        }
    }

    func testMomentumUpdateAndSumOfSquares() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(92)
        let n = 20_000
        let kv = rng.values(n), qv = rng.values(n)
        let k = try dev.tensor(kv, shape: [n]), q = try dev.tensor(qv, shape: [n])
        dev.momentumUpdate(key: k, query: q, momentum: 0.999)
        expectClose(dev.read(k), (0..<n).map { 0.999 * kv[$0] + (1 - 0.999) * qv[$0] }, abs: 1e-7, rel: 1e-6, "momentum update")
        let out = try dev.makeTensor([1])
        dev.sumOfSquares(q, out: out)
        XCTAssertEqual(Double(dev.scalar(out)), qv.reduce(0.0) { $0 + Double($1) * Double($1) }, accuracy: 1e-3)
    }
}
