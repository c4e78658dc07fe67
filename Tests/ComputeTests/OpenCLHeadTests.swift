import Compute
import Foundation
import OpenCLBackend
import XCTest

/// Pooling, linear layers and L2 normalisation.
final class OpenCLHeadTests: XCTestCase {
    func testPoolForwardBackward() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(61)
        let c = 64, s = 2, m = 2, plane = 13 * 25
        let xv = rng.values(c * s * m * plane)
        let x = try dev.tensor(xv, shape: [c, s * m, plane]), y = try dev.makeTensor([s, c])
        dev.poolForward(x: x, channels: c, samples: s, persons: m, plane: plane, y: y)
        var want = [Float](repeating: 0, count: s * c)
        for n in 0..<s { for ch in 0..<c {
            var acc = 0.0
            for pm in 0..<m { for i in 0..<plane { acc += Double(xv[(ch * s * m + n * m + pm) * plane + i]) } }
            want[n * c + ch] = Float(acc / Double(m * plane))
        } }
        expectClose(dev.read(y), want, abs: 1e-6, rel: 1e-5, "pool forward")
        let dyv = rng.values(s * c)
        let dy = try dev.tensor(dyv, shape: [s, c]), dx = try dev.makeTensor(x.shape)
        dev.poolBackward(dy: dy, channels: c, samples: s, persons: m, plane: plane, dx: dx)
        var wdx = [Float](repeating: 0, count: xv.count)
        for ch in 0..<c { for row in 0..<(s * m) { for i in 0..<plane {
            wdx[(ch * s * m + row) * plane + i] = dyv[(row / m) * c + ch] / Float(m * plane)
        } } }
        expectClose(dev.read(dx), wdx, abs: 0, rel: 1e-6, "pool backward")
    }

    func testLinearForwardBackward() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(62)
        let b = 8, inp = 256, out = 60
        let xv = rng.values(b * inp), wv = rng.values(out * inp, -0.1, 0.1), bv = rng.values(out)
        let x = try dev.tensor(xv, shape: [b, inp]), w = try dev.tensor(wv, shape: [out, inp])
        let bias = try dev.tensor(bv, shape: [out]), y = try dev.makeTensor([b, out])
        dev.linearForward(x: x, weight: w, bias: bias, y: y)
        var want = [Float](repeating: 0, count: b * out)
        Reference.gemm(false, true, b, out, inp, 1, xv, 0, inp, wv, 0, inp, 0, &want, 0, out)
        for i in 0..<want.count { want[i] += bv[i % out] }
        expectClose(dev.read(y), want, abs: 1e-5, rel: 1e-5, "linear forward")
        let dyv = rng.values(b * out)
        let dy = try dev.tensor(dyv, shape: [b, out])
        let dx = try dev.makeTensor([b, inp]), dw = try dev.makeTensor([out, inp]), db = try dev.makeTensor([out])
        dev.linearBackward(x: x, weight: w, dy: dy, dx: dx, dWeight: dw, dBias: db)
        var wdw = [Float](repeating: 0, count: out * inp), wdx = [Float](repeating: 0, count: b * inp)
        Reference.gemm(true, false, out, inp, b, 1, dyv, 0, out, xv, 0, inp, 0, &wdw, 0, inp)
        Reference.gemm(false, false, b, inp, out, 1, dyv, 0, out, wv, 0, inp, 0, &wdx, 0, inp)
        expectClose(dev.read(dw), wdw, abs: 1e-5, rel: 1e-5, "linear dW")
        expectClose(dev.read(dx), wdx, abs: 1e-5, rel: 1e-5, "linear dx")
        expectClose(dev.read(db), (0..<out).map { o in (0..<b).reduce(Float(0)) { $0 + dyv[$1 * out + o] } },
                    abs: 1e-5, rel: 1e-5, "linear db")
        dev.linearBackward(x: x, weight: w, dy: dy, dx: nil, dWeight: dw, dBias: db)
        expectClose(dev.read(dw), wdw, abs: 1e-5, rel: 1e-5, "linear dW without dx")
    }

    func testL2NormalizeForwardBackward() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(63)
        let b = 6, d = 128, eps: Float = 1e-12
        var xv = rng.values(b * d)
        for i in 0..<d { xv[5 * d + i] = 0 }  // a zero row: y = 0, dx = dy / eps (clamped norm)
        for i in 0..<d { xv[4 * d + i] *= 1e-14 }  // below eps as well
        let dyv = rng.values(b * d, -1e-12, 1e-12).enumerated().map { $0.offset < 4 * d ? $0.element * 1e12 : $0.element }
        let x = try dev.tensor(xv, shape: [b, d]), y = try dev.makeTensor([b, d])
        let dy = try dev.tensor(dyv, shape: [b, d]), dx = try dev.makeTensor([b, d])
        dev.l2NormalizeForward(x: x, epsilon: eps, y: y)
        dev.l2NormalizeBackward(x: x, epsilon: eps, dy: dy, dx: dx)
        var wy = [Float](repeating: 0, count: b * d), wdx = wy
        for r in 0..<b {
            let row = (0..<d).map { Double(xv[r * d + $0]) }, g = (0..<d).map { Double(dyv[r * d + $0]) }
            let norm = sqrt(row.reduce(0) { $0 + $1 * $1 })
            let denom = max(norm, Double(eps))
            let yg = (0..<d).reduce(0.0) { $0 + row[$1] / denom * g[$1] }
            for i in 0..<d {
                wy[r * d + i] = Float(row[i] / denom)
                wdx[r * d + i] = Float(norm > Double(eps) ? (g[i] - row[i] / norm * yg) / norm : g[i] / Double(eps))
            }
        }
        expectClose(dev.read(y), wy, abs: 1e-6, rel: 1e-5, "l2 normalize forward")
        expectClose(dev.read(dx), wdx, abs: 1e-5, rel: 1e-4, "l2 normalize backward")
    }
}
