import Compute
import Foundation
import OpenCLBackend
import XCTest

/// Losses (computed into a 1-element device tensor), MoCo logits, NNM positives and the queue.
final class OpenCLLossTests: XCTestCase {
    private let b = 8, k = 1 + 300

    private func run(_ name: String, _ second: [Float], scale: Float,
                     _ op: (OpenCLDevice, Tensor, Tensor, Tensor, Tensor?) -> Void,
                     reference: (Int, [Double]) -> (loss: Double, grad: [Double]), logits lv: [Float]) throws {
        let dev = try OpenCLTestDevice.get()
        let logits = try dev.tensor(lv, shape: [b, k]), other = try dev.tensor(second, shape: [second.count])
        let loss = try dev.makeTensor([1]), grad = try dev.makeTensor([b, k])
        op(dev, logits, other, loss, grad)
        var total = 0.0
        var want = [Float](repeating: 0, count: b * k)
        for r in 0..<b {
            let ls = Reference.logSoftmax(lv[r * k ..< (r + 1) * k])
            let (l, g) = reference(r, ls)
            total += l
            for j in 0..<k { want[r * k + j] = Float(g[j] / Double(b) * Double(scale)) }
        }
        XCTAssertEqual(Double(dev.scalar(loss)), total / Double(b), accuracy: 1e-5 * max(1, total / Double(b)), name + " loss")
        expectClose(dev.read(grad), want, abs: 1e-7, rel: 1e-4, name + " dLogits")
        dev.fill(loss, value: 0)
        op(dev, logits, other, loss, nil)
        XCTAssertEqual(Double(dev.scalar(loss)), total / Double(b), accuracy: 1e-5 * max(1, total / Double(b)), name + " loss without grad")
    }

    func testSoftmaxCrossEntropy() throws {
        var rng = TestRandom(71)
        let lv = rng.values(b * k, -5, 5)
        let labels = (0..<b).map { Float(($0 * 37) % k) }
        try run("softmaxCrossEntropy", labels, scale: 0.5, { dev, l, lab, loss, g in
            dev.softmaxCrossEntropy(logits: l, labels: lab, scale: 0.5, loss: loss, dLogits: g)
        }, reference: { r, ls in
            let y = Int(labels[r])
            return (-ls[y], ls.enumerated().map { exp($0.element) - ($0.offset == y ? 1 : 0) })
        }, logits: lv)
    }

    func testSoftTargetCrossEntropy() throws {
        var rng = TestRandom(72)
        let lv = rng.values(b * k, -5, 5), tv = rng.values(b * k, -5, 5)
        try run("softTargetCrossEntropy", tv, scale: 1, { dev, l, t, loss, g in
            dev.softTargetCrossEntropy(logits: l, targetLogits: t, scale: 1, loss: loss, dLogits: g)
        }, reference: { r, ls in
            let p = Reference.logSoftmax(tv[r * self.k ..< (r + 1) * self.k]).map { exp($0) }
            let loss = -zip(p, ls).reduce(0.0) { $0 + $1.0 * $1.1 }
            return (loss, (0..<self.k).map { exp(ls[$0]) - p[$0] })
        }, logits: lv)
    }

    func testMaskedCrossEntropy() throws {
        var rng = TestRandom(73)
        let lv = rng.values(b * k, -5, 5)
        var mask = [Float](repeating: 0, count: b * k)
        for r in 0..<b { mask[r * k] = 1; for j in 0..<r { mask[r * k + 1 + (j * 53 + r) % (k - 1)] = 1 } }
        try run("maskedCrossEntropy", mask, scale: 2, { dev, l, m, loss, g in
            dev.maskedCrossEntropy(logits: l, positives: m, scale: 2, loss: loss, dLogits: g)
        }, reference: { r, ls in
            let row = Array(mask[r * self.k ..< (r + 1) * self.k]).map(Double.init)
            let count = row.reduce(0, +)
            let loss = -zip(row, ls).reduce(0.0) { $0 + $1.0 * $1.1 } / count
            return (loss, (0..<self.k).map { exp(ls[$0]) - row[$0] / count })
        }, logits: lv)
    }

    func testContrastiveLogitsAndBackward() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(74)
        let d = 128, kq = 300, tau: Float = 0.2
        let qv = rng.values(b * d), kv = rng.values(b * d), queuev = rng.values(d * kq)
        let q = try dev.tensor(qv, shape: [b, d]), key = try dev.tensor(kv, shape: [b, d])
        let queue = try dev.tensor(queuev, shape: [d, kq]), logits = try dev.makeTensor([b, 1 + kq])
        dev.contrastiveLogits(q: q, k: key, queue: queue, temperature: tau, logits: logits)
        var want = [Float](repeating: 0, count: b * (1 + kq))
        for r in 0..<b {
            want[r * (1 + kq)] = Float((0..<d).reduce(0.0) { $0 + Double(qv[r * d + $1]) * Double(kv[r * d + $1]) } / Double(tau))
            for j in 0..<kq {
                let s = (0..<d).reduce(0.0) { $0 + Double(qv[r * d + $1]) * Double(queuev[$1 * kq + j]) }
                want[r * (1 + kq) + 1 + j] = Float(s / Double(tau))
            }
        }
        expectClose(dev.read(logits), want, abs: 1e-4, rel: 1e-5, "contrastive logits")
        let dlv = rng.values(b * (1 + kq))
        let dl = try dev.tensor(dlv, shape: [b, 1 + kq]), dq = try dev.makeTensor([b, d])
        dev.contrastiveLogitsBackward(k: key, queue: queue, temperature: tau, dLogits: dl, dq: dq)
        var wdq = [Float](repeating: 0, count: b * d)
        for r in 0..<b { for i in 0..<d {
            var s = Double(dlv[r * (1 + kq)]) * Double(kv[r * d + i])
            let row = r * (1 + kq) + 1
            for j in 0..<kq {
                let g: Float = dlv[row + j], e: Float = queuev[i * kq + j]
                s += Double(g) * Double(e)
            }
            wdq[r * d + i] = Float(s / Double(tau))
        } }
        expectClose(dev.read(dq), wdq, abs: 1e-4, rel: 1e-5, "contrastive dq")
    }

    func testNearestNeighbourMaskTopKUnion() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(75)
        let cols = k
        var s1 = rng.values(b * cols), s2 = rng.values(b * cols)
        // Ties resolve towards the smaller column; column 0 is never a candidate.
        for r in 0..<b { s1[r * cols] = 100; s1[r * cols + 10] = 5; s1[r * cols + 20] = 5 }
        s2[3 * cols + 7] = s1[3 * cols + 7]
        for topK in [1, 3] {
            let t1 = try dev.tensor(s1, shape: [b, cols]), t2 = try dev.tensor(s2, shape: [b, cols])
            let mask = try dev.tensor(filledWith: 7, shape: [b, cols])
            dev.nearestNeighbourMask(similarities: [t1, t2], topK: topK, mask: mask)
            var want = [Float](repeating: 0, count: b * cols)
            for r in 0..<b {
                want[r * cols] = 1
                for sim in [s1, s2] {
                    let order = (1..<cols).sorted { (sim[r * cols + $0], -$0) > (sim[r * cols + $1], -$1) }
                    for j in order.prefix(topK) { want[r * cols + j] = 1 }
                }
            }
            XCTAssertEqual(dev.read(mask), want, "NNM mask topK \(topK)")
            if topK == 1 { XCTAssertEqual(dev.read(mask)[10], 1); XCTAssertEqual(dev.read(mask)[20], 0) }
        }
    }

    func testEnqueueWritesTransposedKeys() throws {
        let dev = try OpenCLTestDevice.get()
        var rng = TestRandom(76)
        let d = 16, kq = 32
        let queuev = rng.values(d * kq), keysv = rng.values(b * d)
        let queue = try dev.tensor(queuev, shape: [d, kq]), keys = try dev.tensor(keysv, shape: [b, d])
        dev.enqueue(keys: keys, queue: queue, pointer: 16)
        var want = queuev
        for r in 0..<b { for i in 0..<d { want[i * kq + 16 + r] = keysv[r * d + i] } }
        XCTAssertEqual(dev.read(queue), want)
    }
}
