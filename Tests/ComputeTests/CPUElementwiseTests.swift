import XCTest
import Compute
import CPUBackend

/// ReLU, dropout, add/multiply/axpby, permute, fill/copy against plain loops.
/// Elementwise results are one or two float roundings from the Double reference:
/// abs 1e-6 + rel 1e-6.
final class CPUElementwiseTests: XCTestCase {
    let device = CPUDevice(threads: 2)

    func testAddReLUIsReLUOfTheSum() throws {
        var rng = RefRandom(seed: 502)
        let a = rng.values(70_001), b = rng.values(70_001)
        let at = try device.tensor(a, [a.count]), bt = try device.tensor(b, [b.count]), yt = try device.makeTensor([a.count])
        device.addReLU(at, bt, y: yt)
        let ref = Ref.relu(zip(a, b).map { Double(Float($0) + Float($1)) })
        assertClose(device.read(yt), ref, abs: 0, rel: 0, "addReLU")
        XCTAssertTrue(ref.contains(0) && ref.contains { $0 > 0 }, "both sides of the kink")
        device.addReLU(at, bt, y: at)
        XCTAssertEqual(device.read(at), device.read(yt), "addReLU in place")
    }

    func testReluForwardBackward() throws {
        var rng = RefRandom(seed: 500)
        let x = rng.values(70_001)          // more than one parallel chunk, odd count
        let xt = try device.tensor(x, [x.count]), yt = try device.makeTensor([x.count])
        device.reluForward(x: xt, y: yt)
        assertClose(device.read(yt), Ref.relu(x), abs: 0, rel: 0, "relu forward")
        let dy = rng.values(x.count)
        let dyt = try device.tensor(dy, [x.count]), dxt = try device.makeTensor([x.count])
        device.reluBackward(y: yt, dy: dyt, dx: dxt)
        // Finite differences away from the kink (|x| > h).
        let idx = sampleIndices(x.count, 200, rng: &rng).filter { abs(x[$0]) > 1e-3 }
        let fd = numericalGradient(at: x, indices: idx, step: 1e-4) { dotLoss(Ref.relu($0), dy) }
        let dx = device.read(dxt)
        assertClose(idx.map { dx[$0] }, fd, abs: 1e-6, rel: 1e-6, "relu dx vs finite differences")
        // In place.
        device.reluBackward(y: yt, dy: dyt, dx: dyt)
        XCTAssertEqual(device.read(dyt), dx, "relu backward in place")
        device.reluForward(x: xt, y: xt)
        XCTAssertEqual(device.read(xt), device.read(yt), "relu forward in place")
    }

    func testDropoutMatchesRandomKeyAndIsItsOwnBackward() throws {
        try checkDropoutAgainstReference()
    }

    /// The same on every Philox path this CPU runs (portable, 8-lane AVX2, 16-lane AVX-512).
    func testDropoutOnEveryKernelPath() throws {
        try CPUKernelPath.forEachSupported { _ in try checkDropoutAgainstReference() }
    }

    private func checkDropoutAgainstReference() throws {
        var rng = RefRandom(seed: 501)
        let p = 0.3
        let key = RandomKey(seed: 0x1234_5678_9ABC, stream: 7, step: 42)
        // Sizes around the 64-element groups of the vector path, and a large one.
        for count in [1, 3, 4, 63, 64, 65, 1003, 40_001] {
            let x = rng.values(count)
            let xt = try device.tensor(x, [count]), yt = try device.makeTensor([count])
            device.dropoutForward(x: xt, p: Float(p), key: key, y: yt)
            let ref = Ref.dropout(x, p: p, key: key)
            assertClose(device.read(yt), ref, abs: 1e-6, rel: 1e-6, "dropout forward n=\(count)")
            // Backward: same mask, gradient = mask/(1-p); check by finite differences too.
            let dy = rng.values(count)
            let dyt = try device.tensor(dy, [count]), dxt = try device.makeTensor([count])
            device.dropoutBackward(dy: dyt, p: Float(p), key: key, dx: dxt)
            assertClose(device.read(dxt), Ref.dropout(dy, p: p, key: key), abs: 1e-6, rel: 1e-6,
                        "dropout backward n=\(count)")
            let idx = sampleIndices(count, 30, rng: &rng)
            let dx = device.read(dxt)
            assertClose(idx.map { dx[$0] }, numericalGradient(at: x, indices: idx) { dotLoss(Ref.dropout($0, p: p, key: key), dy) },
                        abs: 1e-5, rel: 1e-5, "dropout dx vs finite differences n=\(count)")
            // In place gives the same result.
            device.dropoutForward(x: xt, p: Float(p), key: key, y: xt)
            XCTAssertEqual(device.read(xt), device.read(yt), "dropout in place n=\(count)")
        }
        // Another step draws another mask.
        let x = [Double](repeating: 1, count: 1000)
        let a = try device.tensor(x, [1000]), b = try device.makeTensor([1000]), c = try device.makeTensor([1000])
        device.dropoutForward(x: a, p: 0.5, key: key, y: b)
        device.dropoutForward(x: a, p: 0.5, key: RandomKey(seed: key.seed, stream: key.stream, step: key.step + 1), y: c)
        XCTAssertNotEqual(device.read(b), device.read(c))
    }

    func testDropoutKeepFraction() throws {
        let n = 200_000
        let xt = try device.tensor(filledWith: 1, shape: [n]), yt = try device.makeTensor([n])
        for p in [0.1, 0.5, 0.9] as [Float] {
            device.dropoutForward(x: xt, p: p, key: RandomKey(seed: 9, stream: 1, step: 3), y: yt)
            let y = device.read(yt)
            let kept = y.filter { $0 != 0 }.count
            let fraction = Double(kept) / Double(n)
            // σ of the fraction is ≤ 0.0012 here; allow 5σ.
            XCTAssertEqual(fraction, Double(1 - p), accuracy: 0.006, "kept fraction at p \(p)")
            XCTAssertTrue(y.allSatisfy { $0 == 0 || abs($0 - 1 / (1 - p)) < 1e-5 }, "kept values scaled by 1/(1-p)")
        }
        device.dropoutForward(x: xt, p: 0, key: RandomKey(seed: 9, stream: 1, step: 3), y: yt)
        XCTAssertTrue(device.read(yt).allSatisfy { $0 == 1 }, "p = 0 copies")
    }

    func testAddMultiplyAxpby() throws {
        var rng = RefRandom(seed: 502)
        let n = 50_003
        let a = rng.values(n), b = rng.values(n)
        let at = try device.tensor(a, [n]), bt = try device.tensor(b, [n]), yt = try device.makeTensor([n])
        device.add(at, bt, y: yt)
        assertClose(device.read(yt), zip(a, b).map { $0 + $1 }, abs: 1e-6, rel: 1e-6, "add")
        device.multiply(at, bt, y: yt)
        assertClose(device.read(yt), zip(a, b).map { $0 * $1 }, abs: 1e-6, rel: 1e-6, "multiply")
        device.axpby(alpha: 0.5, x: at, beta: -2, y: bt)
        assertClose(device.read(bt), zip(a, b).map { 0.5 * $0 - 2 * $1 }, abs: 1e-6, rel: 1e-6, "axpby")
        // beta = 0 ignores y's contents, even NaN.
        device.fill(bt, value: .nan)
        device.axpby(alpha: 3, x: at, beta: 0, y: bt)
        assertClose(device.read(bt), a.map { 3 * $0 }, abs: 1e-6, rel: 1e-6, "axpby beta 0")
        device.add(at, at, y: at)
        assertClose(device.read(at), a.map { 2 * $0 }, abs: 1e-6, rel: 1e-6, "add aliased")
    }

    func testFillAndCopy() throws {
        let t = try device.makeTensor([10])
        device.fill(t, value: 2.5)
        XCTAssertEqual(device.read(t), [Float](repeating: 2.5, count: 10))
        let s = try device.tensor((0 ..< 10).map(Double.init), [10])
        device.copy(s, srcOffset: 2, to: t, dstOffset: 5, count: 4)
        XCTAssertEqual(device.read(t), [2.5, 2.5, 2.5, 2.5, 2.5, 2, 3, 4, 5, 2.5])
    }

    func testPermute() throws {
        var rng = RefRandom(seed: 503)
        let cases: [([Int], [Int])] = [
            ([2, 3, 4, 5, 6], [0, 4, 3, 1, 2]),        // (N, C, T, V, M) → (N, M, V, C, T), the data-BN input
            ([4, 3, 5, 7], [1, 0, 2, 3]),              // (N, C, T, V) ↔ (C, N, T, V)
            ([3, 8], [1, 0]),
            ([2, 2, 3, 2, 3, 2], [5, 3, 1, 0, 2, 4]),
            ([7], [0]),
            // (C, N, T, V) ↔ (C, T, N, V), the frame-major view: rows of one vector, of two
            // (the second partial), and wider than the vector path (memcpy).
            ([3, 5, 7, 25], [0, 2, 1, 3]), ([2, 4, 3, 9], [0, 2, 1, 3]), ([2, 3, 4, 40], [0, 2, 1, 3]),
            // Widths of exactly one and two 8-lane vectors (AVX2 copies whole vectors).
            ([2, 3, 4, 8], [0, 2, 1, 3]), ([2, 3, 2, 16], [0, 2, 1, 3]),
        ]
        try CPUKernelPath.forEachSupported { path in
            for (shape, perm) in cases {
                let x = rng.values(shape.reduce(1, *))
                let xt = try device.tensor(x, shape), yt = try device.makeTensor(perm.map { shape[$0] })
                self.device.permute(x: xt, shape: shape, perm: perm, y: yt)
                assertClose(device.read(yt), Ref.permute(x, shape: shape, perm: perm), abs: 0, rel: 0,
                            "permute \(shape) by \(perm) path \(path)")
            }
        }
    }
}
