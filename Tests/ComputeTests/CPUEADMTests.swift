import XCTest
import Compute
import CPUBackend

/// EADM against a line-by-line Double transcription of att_drop.py (fixed version).
final class CPUEADMTests: XCTestCase {
    let device = CPUDevice(threads: 2)
    let threshold = 0.7, lambda = 1e-4

    func testEADMMatchesReferenceAndGradientIsScale() throws {
        try checkEADMAgainstReference()
    }

    /// The same on every path of the attention kernel this CPU runs (portable C, AVX2, AVX-512).
    func testAttentionOnEveryKernelPath() throws {
        try CPUKernelPath.forEachSupported { path in
            XCTAssertEqual(CPUKernelPath.current, path)
            try checkEADMAgainstReference()
        }
    }

    private func checkEADMAgainstReference() throws {
        let n = 4, c = 16, t = 13, v = 25
        var rng = RefRandom(seed: 800)
        // Non-negative like a ReLU output, with two "hot" joints whose values stand out in
        // every channel, so the joint mask drops something.
        var f = rng.values(n * c * t * v, 0, 1).map { $0 < 0.2 ? 0 : $0 }
        for ch in 0 ..< c { for ti in 0 ..< t {
            f[Ref.idx(0, ch, ti, 3, c: c, t: t, v: v)] = Double(Float(6 + rng.uniform(0, 1)))
            f[Ref.idx(2, ch, ti, 17, c: c, t: t, v: v)] = Double(Float(8 + rng.uniform(0, 1)))
        } }
        let ref = Ref.eadm(f, n: n, c: c, t: t, v: v, threshold: threshold, lambda: lambda)
        let shape = ActivationShape(channels: c, batch: n, frames: t, joints: v)
        let ft = try device.tensor(Ref.toChannelMajor(f, n: n, c: c, t: t, v: v), [c, n, t, v])
        let st = try device.makeTensor([c, n, t, v]), yt = try device.makeTensor([c, n, t, v])
        device.eadmForward(x: ft, shape: shape, threshold: Float(threshold), lambda: Float(lambda), noOp: false,
                           scale: st, y: yt)
        // The test input must exercise both masks.
        XCTAssertGreaterThan(ref.jointAtt.filter { $0 >= threshold }.count, 0, "some joints dropped")
        XCTAssertGreaterThan(ref.att.filter { $0 >= threshold }.count, 100, "some elements dropped")

        // Elements whose attention is within 1e-5 of the threshold may go either way in float.
        let scaleRef = Ref.toChannelMajor(ref.scale, n: n, c: c, t: t, v: v)
        let attCM = Ref.toChannelMajor(ref.att, n: n, c: c, t: t, v: v)
        let clear = attCM.indices.filter { abs(attCM[$0] - threshold) > 1e-5 }
        XCTAssertGreaterThan(clear.count, attCM.count - 10)
        let scale = device.read(st), y = device.read(yt)
        // Batch-global rescales move by ≤ 1e-4 relative if a borderline element flips.
        assertClose(clear.map { scale[$0] }, clear.map { scaleRef[$0] }, abs: 0, rel: 1e-4, "EADM scale")
        let yRef = Ref.toChannelMajor(ref.y, n: n, c: c, t: t, v: v)
        assertClose(clear.map { y[$0] }, clear.map { yRef[$0] }, abs: 1e-6, rel: 1e-4, "EADM output")

        // Gradient: the caller multiplies dy by scale; check that equals the finite
        // differences of the reference (masks constant under small perturbations).
        let dy = rng.values(f.count)
        let dyt = try device.tensor(Ref.toChannelMajor(dy, n: n, c: c, t: t, v: v), [c, n, t, v])
        let dxt = try device.makeTensor([c, n, t, v])
        device.multiply(dyt, st, y: dxt)
        let dx = device.read(dxt)
        let clearLogical = Set(f.indices.filter { abs(ref.att[$0] - threshold) > 1e-3 })
        let idx = sampleIndices(f.count, 60, rng: &rng).filter { clearLogical.contains($0) }
        let fd = numericalGradient(at: f, indices: idx, step: 1e-6) {
            dotLoss(Ref.eadm($0, n: n, c: c, t: t, v: v, threshold: self.threshold, lambda: self.lambda).y, dy)
        }
        assertClose(idx.map { dx[Ref.toChannelMajorIndex($0, n: n, c: c, t: t, v: v)] }, fd, abs: 1e-4, rel: 1e-4,
                    "EADM gradient vs finite differences")
    }

    func testNoOpIsIdentity() throws {
        let shape = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
        var rng = RefRandom(seed: 801)
        let f = rng.values(shape.count, 0, 1)
        let ft = try device.tensor(f, [shape.count])
        let st = try device.makeTensor([shape.count]), yt = try device.makeTensor([shape.count])
        device.eadmForward(x: ft, shape: shape, threshold: 0.7, lambda: 1e-4, noOp: true, scale: st, y: yt)
        XCTAssertEqual(device.read(st), [Float](repeating: 1, count: shape.count))
        XCTAssertEqual(device.read(yt), f.floats)
    }
}
