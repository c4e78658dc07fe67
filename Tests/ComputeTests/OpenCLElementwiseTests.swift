import Compute
import Foundation
import OpenCLBackend
import XCTest

/// Elementwise ops, Philox dropout and permutation.
final class OpenCLElementwiseTests: XCTestCase {
    func testPhiloxMatchesTheHostGeneratorBitForBit() throws {
        let dev = try OpenCLTestDevice.get()
        for key in [RandomKey(seed: 0, stream: 0, step: 0), RandomKey(seed: 0xDEAD_BEEF_0123_4567, stream: 7, step: 123_456)] {
            let n = 1003
            let u = try dev.makeTensor([n])
            dev.uniform(key: key, into: u)
            XCTAssertEqual(dev.read(u), (0..<n).map { key.uniform($0) }, "Philox uniform for \(key)")
        }
    }

    func testDropoutMaskIsBitwiseTheHostMask() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(51)
        let n = 16 * 4 * 50 * 25 + 3  // not a multiple of 4
        let xv = rng.values(n)
        let x = try dev.tensor(xv, shape: [n]), y = try dev.makeTensor([n])
        let key = RandomKey(seed: 2022, stream: 5, step: 17), p: Float = 0.5
        dev.dropoutForward(x: x, p: p, key: key, y: y)
        let scale: Float = 1 / (1 - p)
        let want = (0..<n).map { key.uniform($0) >= p ? xv[$0] * scale : 0 }
        XCTAssertEqual(dev.read(y), want, "dropout forward")
        let dyv = rng.values(n)
        let dy = try dev.tensor(dyv, shape: [n])
        dev.dropoutBackward(dy: dy, p: p, key: key, dx: dy)  // in place
        XCTAssertEqual(dev.read(dy), (0..<n).map { key.uniform($0) >= p ? dyv[$0] * scale : 0 }, "dropout backward")
        let kept = want.filter { $0 != 0 }.count
        XCTAssertEqual(Double(kept) / Double(n), 0.5, accuracy: 0.02)
        dev.dropoutForward(x: x, p: 0, key: key, y: y)
        XCTAssertEqual(dev.read(y), xv, "p = 0 copies")
    }

    func testReluAddMultiplyAxpby() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(52)
        let n = 5001
        let av = rng.values(n), bv = rng.values(n)
        let a = try dev.tensor(av, shape: [n]), b = try dev.tensor(bv, shape: [n]), y = try dev.makeTensor([n])
        dev.reluForward(x: a, y: y)
        let r = av.map { max($0, 0) }
        XCTAssertEqual(dev.read(y), r)
        dev.reluBackward(y: y, dy: b, dx: y)
        XCTAssertEqual(dev.read(y), (0..<n).map { r[$0] > 0 ? bv[$0] : 0 })
        dev.add(a, b, y: y)
        XCTAssertEqual(dev.read(y), zip(av, bv).map { $0 + $1 })
        dev.multiply(a, b, y: a)  // aliasing
        XCTAssertEqual(dev.read(a), zip(av, bv).map { $0 * $1 })
        let prod = dev.read(a)
        dev.axpby(alpha: 2, x: b, beta: -0.5, y: a)
        XCTAssertEqual(dev.read(a), (0..<n).map { 2 * bv[$0] + -0.5 * prod[$0] })
        dev.fill(a, value: .nan)
        dev.axpby(alpha: 3, x: b, beta: 0, y: a)
        XCTAssertEqual(dev.read(a), bv.map { 3 * $0 }, "beta 0 ignores NaN")
    }

    func testPermuteUpToSixDims() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(53)
        // (N, C, T, V, M) -> (N, M, V, C, T): the data-BN layout.
        for (shape, perm) in [([2, 3, 5, 4, 2], [0, 4, 3, 1, 2]), ([3, 4], [1, 0]), ([2, 3, 2, 2, 3, 2], [5, 3, 1, 0, 2, 4])] {
            let n = shape.reduce(1, *)
            let xv = rng.values(n)
            let x = try dev.tensor(xv, shape: shape), y = try dev.makeTensor(perm.map { shape[$0] })
            dev.permute(x: x, shape: shape, perm: perm, y: y)
            var strides = [Int](repeating: 1, count: shape.count)
            for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
            let outShape = perm.map { shape[$0] }
            var want = [Float](repeating: 0, count: n)
            for i in 0..<n {
                var r = i, src = 0
                for d in stride(from: outShape.count - 1, through: 0, by: -1) {
                    src += (r % outShape[d]) * strides[perm[d]]
                    r /= outShape[d]
                }
                want[i] = xv[src]
            }
            XCTAssertEqual(dev.read(y), want, "permute \(shape) by \(perm)")
        }
    }
}
