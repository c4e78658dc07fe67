import XCTest
import Compute
import CPUBackend

/// Pooling, linear layer and L2 normalisation. Small sizes, so the finite differences
/// cover every coordinate. Tolerances: abs 1e-4 + rel 1e-4 for values and gradients
/// (sums of ≤ 300 float terms); finite differences central in Double.
final class CPUHeadsTests: XCTestCase {
    let device = CPUDevice(threads: 2)

    func testPoolForwardBackward() throws {
        let samples = 3, persons = 2, c = 5, plane = 13 * 25
        var rng = RefRandom(seed: 600)
        // Device layout (C, N·M, T·V); reference layout (N·M, C, T·V).
        let x = rng.values(samples * persons * c * plane)
        let ref = Ref.pool(x, samples: samples, persons: persons, c: c, plane: plane)
        let xt = try device.tensor(Ref.toChannelMajor(x, n: samples * persons, c: c, t: 1, v: plane),
                                   [c, samples * persons, plane])
        let yt = try device.makeTensor([samples, c])
        device.poolForward(x: xt, channels: c, samples: samples, persons: persons, plane: plane, y: yt)
        assertClose(device.read(yt), ref, abs: 1e-5, rel: 1e-5, "pool forward")

        let dy = rng.values(samples * c)
        let dyt = try device.tensor(dy, [samples, c]), dxt = try device.makeTensor([c, samples * persons, plane])
        device.poolBackward(dy: dyt, channels: c, samples: samples, persons: persons, plane: plane, dx: dxt)
        let dx = device.read(dxt)
        let idx = sampleIndices(x.count, 40, rng: &rng)
        assertClose(idx.map { dx[Ref.toChannelMajorIndex($0, n: samples * persons, c: c, t: 1, v: plane)] },
                    numericalGradient(at: x, indices: idx) {
                        dotLoss(Ref.pool($0, samples: samples, persons: persons, c: c, plane: plane), dy)
                    }, abs: 1e-6, rel: 1e-5, "pool dx vs finite differences")
    }

    func testLinearForwardBackward() throws {
        let rows = 6, inp = 10, out = 7
        var rng = RefRandom(seed: 601)
        let x = rng.values(rows * inp), w = rng.values(out * inp), b = rng.values(out)
        let xt = try device.tensor(x, [rows, inp]), wt = try device.tensor(w, [out, inp]), bt = try device.tensor(b, [out])
        let yt = try device.makeTensor([rows, out])
        device.linearForward(x: xt, weight: wt, bias: bt, y: yt)
        assertClose(device.read(yt), Ref.linear(x, rows: rows, inp: inp, weight: w, bias: b, out: out),
                    abs: 1e-5, rel: 1e-5, "linear forward")
        let dy = rng.values(rows * out)
        let dyt = try device.tensor(dy, [rows, out])
        let dxt = try device.makeTensor([rows, inp]), dwt = try device.makeTensor([out, inp]), dbt = try device.makeTensor([out])
        device.linearBackward(x: xt, weight: wt, dy: dyt, dx: dxt, dWeight: dwt, dBias: dbt)
        let loss = { (xx: [Double], ww: [Double], bb: [Double]) in
            dotLoss(Ref.linear(xx, rows: rows, inp: inp, weight: ww, bias: bb, out: out), dy)
        }
        assertClose(device.read(dxt), numericalGradient(at: x, indices: Array(x.indices)) { loss($0, w, b) },
                    abs: 1e-4, rel: 1e-4, "linear dx vs finite differences")
        assertClose(device.read(dwt), numericalGradient(at: w, indices: Array(w.indices)) { loss(x, $0, b) },
                    abs: 1e-4, rel: 1e-4, "linear dW vs finite differences")
        assertClose(device.read(dbt), numericalGradient(at: b, indices: Array(b.indices)) { loss(x, w, $0) },
                    abs: 1e-4, rel: 1e-4, "linear db vs finite differences")
        // Without dx.
        device.fill(dwt, value: 0)
        device.linearBackward(x: xt, weight: wt, dy: dyt, dx: nil, dWeight: dwt, dBias: dbt)
        assertClose(device.read(dwt), numericalGradient(at: w, indices: Array(w.indices)) { loss(x, $0, b) },
                    abs: 1e-4, rel: 1e-4, "linear dW without dx")
    }

    func testL2NormalizeForwardBackward() throws {
        let rows = 5, d = 12, eps = 1e-12
        var rng = RefRandom(seed: 602)
        var x = rng.values(rows * d)
        for i in 0 ..< d { x[3 * d + i] = 0 }           // an all-zero row: y = 0 (norm clamped to eps)
        let xt = try device.tensor(x, [rows, d]), yt = try device.makeTensor([rows, d])
        device.l2NormalizeForward(x: xt, epsilon: Float(eps), y: yt)
        assertClose(device.read(yt), Ref.l2Normalize(x, rows: rows, d: d, eps: eps), abs: 1e-6, rel: 1e-5,
                    "l2 normalise forward")
        let dy = rng.values(rows * d)
        let dyt = try device.tensor(dy, [rows, d]), dxt = try device.makeTensor([rows, d])
        device.l2NormalizeBackward(x: xt, epsilon: Float(eps), dy: dyt, dx: dxt)
        let dx = device.read(dxt)
        let idx = Array(0 ..< rows * d).filter { $0 / d != 3 }
        assertClose(idx.map { dx[$0] },
                    numericalGradient(at: x, indices: idx, step: 1e-5) { dotLoss(Ref.l2Normalize($0, rows: rows, d: d, eps: eps), dy) },
                    abs: 1e-4, rel: 1e-4, "l2 normalise dx vs finite differences")
        // The zero row: PyTorch's clamp_min makes y = x/eps there, so dx = dy/eps.
        for i in 0 ..< d { XCTAssertEqual(Double(dx[3 * d + i]), dy[3 * d + i] / eps, accuracy: abs(dy[3 * d + i] / eps) * 1e-5) }
    }
}
