import XCTest
import Compute
import CPUBackend

/// Cross-entropy losses, MoCo logits, the NNM mask and the queue update.
/// Losses are accumulated in Double and stored as Float: abs 1e-6 + rel 1e-5.
/// Gradients are O(1/B) values: abs 1e-6 + rel 1e-4 against Double central differences
/// (h = 1e-4, smooth functions, error ≈ 1e-9).
final class CPULossTests: XCTestCase {
    let device = CPUDevice(threads: 2)
    let rows = 4, classes = 9

    func testSoftmaxCrossEntropy() throws {
        var rng = RefRandom(seed: 700)
        // Large logits: a plain exp would overflow in float.
        var logits = rng.values(rows * classes, -5, 5)
        logits[3] = 95
        logits[classes + 2] = -120
        let labels = [3, 2, 0, 8]
        let lt = try device.tensor(logits, [rows, classes]), labt = try device.tensor(labels.map(Double.init), [rows])
        let loss = try device.makeTensor([1]), d = try device.makeTensor([rows, classes])
        let scale: Float = 0.5
        device.softmaxCrossEntropy(logits: lt, labels: labt, scale: scale, loss: loss, dLogits: d)
        let ref = { (l: [Double]) in Ref.crossEntropy(l, rows: self.rows, classes: self.classes, labels: labels) }
        assertClose([device.scalar(loss)], [ref(logits)], abs: 1e-6, rel: 1e-5, "CE loss")
        assertClose(device.read(d), numericalGradient(at: logits, indices: Array(logits.indices)) { ref($0) }.map { $0 * Double(scale) },
                    abs: 1e-6, rel: 1e-4, "CE dLogits vs finite differences")
        device.fill(loss, value: 0)
        device.softmaxCrossEntropy(logits: lt, labels: labt, scale: scale, loss: loss, dLogits: nil)
        assertClose([device.scalar(loss)], [ref(logits)], abs: 1e-6, rel: 1e-5, "CE loss without gradient")
    }

    func testSoftTargetCrossEntropy() throws {
        var rng = RefRandom(seed: 701)
        let logits = rng.values(rows * classes, -4, 4), target = rng.values(rows * classes, -60, 60)
        let lt = try device.tensor(logits, [rows, classes]), tt = try device.tensor(target, [rows, classes])
        let loss = try device.makeTensor([1]), d = try device.makeTensor([rows, classes])
        device.softTargetCrossEntropy(logits: lt, targetLogits: tt, scale: 2, loss: loss, dLogits: d)
        let ref = { (l: [Double]) in Ref.softTargetCrossEntropy(l, target: target, rows: self.rows, classes: self.classes) }
        assertClose([device.scalar(loss)], [ref(logits)], abs: 1e-6, rel: 1e-5, "soft-target CE loss")
        assertClose(device.read(d), numericalGradient(at: logits, indices: Array(logits.indices)) { ref($0) }.map { $0 * 2 },
                    abs: 1e-6, rel: 1e-4, "soft-target CE dLogits vs finite differences")
    }

    /// The exp-and-sum behind every softmax on the AVX-512 path (where the CPU has it) and the
    /// portable one: rows with full 16-lane blocks and a tail against Double references, exp(−∞)
    /// exactly 0, and a NaN logit making the loss NaN.
    func testSoftmaxExpSumOnBothPaths() throws {
        let rows = 3, classes = 37
        var rng = RefRandom(seed: 706)
        var logits = rng.values(rows * classes, -30, 30)
        let dead = classes + 5
        logits[dead] = -.infinity
        let target = rng.values(rows * classes, -8, 8)
        let labels = [0, 1, 36]
        let lt = try device.tensor(logits, [rows, classes]), labt = try device.tensor(labels.map(Double.init), [rows])
        let finite = logits.map { $0.isFinite ? $0 : -50 }
        let ft = try device.tensor(finite, [rows, classes]), tt = try device.tensor(target, [rows, classes])
        let loss = try device.makeTensor([1]), d = try device.makeTensor([rows, classes])
        let ce = { (l: [Double]) in Ref.crossEntropy(l, rows: rows, classes: classes, labels: labels) }
        let soft = { (l: [Double]) in Ref.softTargetCrossEntropy(l, target: target, rows: rows, classes: classes) }
        CPUKernelPath.forEachSupported { kernels in
            let path = "\(kernels) path"
            let run = {
                self.device.softmaxCrossEntropy(logits: lt, labels: labt, scale: 1, loss: loss, dLogits: d)
                assertClose([self.device.scalar(loss)], [ce(logits)], abs: 1e-6, rel: 1e-5, "CE loss, \(path)")
                let grad = self.device.read(d)
                XCTAssertEqual(grad[dead], 0, "exp(−∞) is 0, \(path)")
                let live = Array(logits.indices.filter { $0 != dead })
                let fd = numericalGradient(at: logits, indices: live) { ce($0) }
                assertClose(live.map { grad[$0] }, fd, abs: 1e-6, rel: 1e-4, "CE dLogits, \(path)")
                self.device.softTargetCrossEntropy(logits: ft, targetLogits: tt, scale: 1, loss: loss, dLogits: d)
                assertClose([self.device.scalar(loss)], [soft(finite)], abs: 1e-6, rel: 1e-5, "soft-target loss, \(path)")
                assertClose(self.device.read(d), numericalGradient(at: finite, indices: Array(finite.indices)) { soft($0) },
                            abs: 1e-6, rel: 1e-4, "soft-target dLogits, \(path)")
                var poisoned = finite
                poisoned[2 * classes + 20] = .nan
                self.device.write(poisoned, to: ft)
                self.device.softTargetCrossEntropy(logits: ft, targetLogits: tt, scale: 1, loss: loss, dLogits: d)
                XCTAssertTrue(self.device.scalar(loss).isNaN, "a NaN logit gives a NaN loss, \(path)")
                // ... and a NaN softmax over its whole row (as in PyTorch), the other rows untouched.
                let poisonedGrad = self.device.read(d)
                XCTAssertTrue(poisonedGrad[(2 * classes)...].allSatisfy(\.isNaN), "NaN row gradient, \(path)")
                XCTAssertTrue(poisonedGrad[..<(2 * classes)].allSatisfy(\.isFinite), "other rows finite, \(path)")
                self.device.write(finite, to: ft)
                // A row without a finite max (all −∞) has an undefined softmax: NaN, as in PyTorch.
                var allMinusInf = finite
                for j in 0 ..< classes { allMinusInf[j] = -.infinity }
                self.device.write(allMinusInf, to: ft)
                self.device.softmaxCrossEntropy(logits: ft, labels: labt, scale: 1, loss: loss, dLogits: d)
                XCTAssertTrue(self.device.scalar(loss).isNaN, "all −∞ row, \(path)")
                XCTAssertTrue(self.device.read(d)[..<classes].allSatisfy(\.isNaN), "all −∞ row gradient, \(path)")
                self.device.write(finite, to: ft)
            }
            run()
        }
    }

    func testMaskedCrossEntropy() throws {
        var rng = RefRandom(seed: 702)
        let logits = rng.values(rows * classes, -4, 4)
        var mask = [Double](repeating: 0, count: rows * classes)
        for r in 0 ..< rows {
            mask[r * classes] = 1
            for _ in 0 ..< r { mask[r * classes + 1 + rng.int(classes - 1)] = 1 }
        }
        let lt = try device.tensor(logits, [rows, classes]), mt = try device.tensor(mask, [rows, classes])
        let loss = try device.makeTensor([1]), d = try device.makeTensor([rows, classes])
        device.maskedCrossEntropy(logits: lt, positives: mt, scale: 1, loss: loss, dLogits: d)
        let ref = { (l: [Double]) in Ref.maskedCrossEntropy(l, mask: mask, rows: self.rows, classes: self.classes) }
        assertClose([device.scalar(loss)], [ref(logits)], abs: 1e-6, rel: 1e-5, "masked CE loss")
        assertClose(device.read(d), numericalGradient(at: logits, indices: Array(logits.indices)) { ref($0) },
                    abs: 1e-6, rel: 1e-4, "masked CE dLogits vs finite differences")
        // With only column 0 positive it is the ordinary cross-entropy with label 0.
        let only0 = (0 ..< rows * classes).map { $0 % classes == 0 ? 1.0 : 0 }
        device.write(only0, to: mt)
        device.maskedCrossEntropy(logits: lt, positives: mt, scale: 1, loss: loss, dLogits: nil)
        assertClose([device.scalar(loss)], [Ref.crossEntropy(logits, rows: rows, classes: classes, labels: [0, 0, 0, 0])],
                    abs: 1e-6, rel: 1e-5, "masked CE with one positive")
    }

    /// dLogits may be the logits tensor itself.
    func testGradientsInPlace() throws {
        var rng = RefRandom(seed: 705)
        let logits = rng.values(rows * classes, -4, 4), target = rng.values(rows * classes, -4, 4)
        let mask = (0 ..< rows * classes).map { $0 % 4 == 0 ? 1.0 : 0 }
        let tt = try device.tensor(target, [rows, classes]), mt = try device.tensor(mask, [rows, classes])
        let labt = try device.tensor([1, 2, 3, 4], [rows])
        let loss = try device.makeTensor([1]), separate = try device.makeTensor([rows, classes])
        let cases: [(String, (Tensor, Tensor?) -> Void)] = [
            ("CE", { self.device.softmaxCrossEntropy(logits: $0, labels: labt, scale: 1, loss: loss, dLogits: $1) }),
            ("soft-target CE", { self.device.softTargetCrossEntropy(logits: $0, targetLogits: tt, scale: 1, loss: loss, dLogits: $1) }),
            ("masked CE", { self.device.maskedCrossEntropy(logits: $0, positives: mt, scale: 1, loss: loss, dLogits: $1) }),
        ]
        for (name, run) in cases {
            let lt = try device.tensor(logits, [rows, classes])
            run(lt, separate)
            let expectedLoss = device.scalar(loss)
            run(lt, lt)
            XCTAssertEqual(device.scalar(loss), expectedLoss, "\(name) loss in place")
            XCTAssertEqual(device.read(lt), device.read(separate), "\(name) gradient in place")
        }
    }

    func testContrastiveLogitsForwardBackward() throws {
        let b = 4, d = 8, k = 12, tau = 0.2
        var rng = RefRandom(seed: 703)
        let q = rng.values(b * d), key = rng.values(b * d), queue = rng.values(d * k)
        let qt = try device.tensor(q, [b, d]), kt = try device.tensor(key, [b, d]), queuet = try device.tensor(queue, [d, k])
        let lt = try device.makeTensor([b, 1 + k])
        device.contrastiveLogits(q: qt, k: kt, queue: queuet, temperature: Float(tau), logits: lt)
        let ref = { (qq: [Double]) in Ref.contrastiveLogits(q: qq, k: key, queue: queue, rows: b, d: d, size: k, tau: tau) }
        assertClose(device.read(lt), ref(q), abs: 1e-5, rel: 1e-5, "contrastive logits")
        let dl = rng.values(b * (1 + k))
        let dlt = try device.tensor(dl, [b, 1 + k]), dqt = try device.makeTensor([b, d])
        device.contrastiveLogitsBackward(k: kt, queue: queuet, temperature: Float(tau), dLogits: dlt, dq: dqt)
        assertClose(device.read(dqt), numericalGradient(at: q, indices: Array(q.indices)) { dotLoss(ref($0), dl) },
                    abs: 1e-4, rel: 1e-4, "contrastive dq vs finite differences")
    }

    func testNearestNeighbourMask() throws {
        let b = 5, width = 11
        var rng = RefRandom(seed: 704)
        // Coarse values so that ties occur; column 0 is large and must be ignored.
        let sims = (0 ..< 3).map { _ in
            (0 ..< b * width).map { i in i % width == 0 ? 10.0 : Double(rng.int(4)) / 4 }
        }
        let tensors = try sims.map { try device.tensor($0, [b, width]) }
        let mt = try device.makeTensor([b, width])
        for topK in [1, 2, 3] {
            for used in 1 ... 3 {
                device.fill(mt, value: 7)
                device.nearestNeighbourMask(similarities: Array(tensors.prefix(used)), topK: topK, mask: mt)
                assertClose(device.read(mt), Ref.nearestNeighbourMask(Array(sims.prefix(used)), rows: b, width: width, topK: topK),
                            abs: 0, rel: 0, "NNM mask topK \(topK) over \(used) similarities")
            }
        }
        // Ties go to the lowest index.
        let tie = try device.tensor([0, 1, 1, 0.5, 1], [1, 5])
        let m1 = try device.makeTensor([1, 5])
        device.nearestNeighbourMask(similarities: [tie], topK: 1, mask: m1)
        XCTAssertEqual(device.read(m1), [1, 1, 0, 0, 0])
        device.nearestNeighbourMask(similarities: [tie], topK: 2, mask: m1)
        XCTAssertEqual(device.read(m1), [1, 1, 1, 0, 0])
    }

    func testEnqueue() throws {
        let b = 3, d = 4, k = 9
        let keys = (0 ..< b * d).map(Double.init)
        let kt = try device.tensor(keys, [b, d]), qt = try device.tensor(filledWith: -1, shape: [d, k])
        device.enqueue(keys: kt, queue: qt, pointer: 6)
        let q = device.read(qt)
        for row in 0 ..< d { for col in 0 ..< k {
            let expected: Float = col >= 6 ? Float(keys[(col - 6) * d + row]) : -1
            XCTAssertEqual(q[row * k + col], expected, "queue[\(row), \(col)]")
        } }
    }
}
