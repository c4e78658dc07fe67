import Compute
import CPUBackend
import XCTest
@testable import AimCLR

/// The AimCLR losses on the CPU backend: values, gradients by finite differences, NNM and the queue.
final class ObjectiveTests: XCTestCase {
    let b = 3, dim = 4, k = 6
    let tau: Float = 0.5

    func unitRows(_ rows: Int, _ cols: Int, seed: UInt64) -> [Float] {
        let key = RandomKey(seed: seed, stream: 1, step: 0)
        var x = (0..<(rows * cols)).map { key.gaussian($0) }
        for r in 0..<rows {
            let n = (0..<cols).reduce(Float(0)) { $0 + x[r * cols + $1] * x[r * cols + $1] }.squareRoot()
            for c in 0..<cols { x[r * cols + c] /= n }
        }
        return x
    }

    /// Host reference of the whole objective in Double.
    func referenceLoss(q: [Float], qe: [Float], qed: [Float], kk: [Float], queue: [Float], positives: [[Int]]?) -> Double {
        func logits(_ x: [Float]) -> [[Double]] {
            (0..<b).map { r in
                var row = [Double]()
                row.append((0..<dim).reduce(0.0) { $0 + Double(x[r * dim + $1]) * Double(kk[r * dim + $1]) } / Double(tau))
                for j in 0..<k { row.append((0..<dim).reduce(0.0) { $0 + Double(x[r * dim + $1]) * Double(queue[$1 * k + j]) } / Double(tau)) }
                return row
            }
        }
        func logSoftmax(_ r: [Double]) -> [Double] {
            let m = r.max()!
            let lse = m + log(r.reduce(0.0) { $0 + exp($1 - m) })
            return r.map { $0 - lse }
        }
        let l = logits(q), le = logits(qe), led = logits(qed)
        var contrastive = 0.0, he = 0.0, hed = 0.0
        for r in 0..<b {
            let lp = logSoftmax(l[r])
            if let pos = positives {
                contrastive -= pos[r].reduce(0.0) { $0 + lp[$1] } / Double(pos[r].count)
            } else {
                contrastive -= lp[0]
            }
            let p = lp.map { exp($0) }
            let lpe = logSoftmax(le[r]), lped = logSoftmax(led[r])
            for j in 0...k { he -= p[j] * lpe[j]; hed -= p[j] * lped[j] }
        }
        return (contrastive + 0.5 * he + 0.5 * hed) / Double(b)
    }

    func testLossesAndGradientsMatchFiniteDifferences() throws {
        let d = CPUDevice(threads: 1)
        var config = PretrainConfig()
        config.batchSize = b
        config.queueSize = k
        config.featureDim = dim
        let queue = try MoCoQueue(device: d, dimension: dim, size: k, batch: b, seed: 3)
        let objective = try ContrastiveObjective(device: d, batch: b, queueSize: k, temperature: tau)
        let q = unitRows(b, dim, seed: 1), qe = unitRows(b, dim, seed: 2), qed = unitRows(b, dim, seed: 3)
        let kk = unitRows(b, dim, seed: 4)
        let queueHost = d.read(queue.keys)
        let tq = try d.tensor(q, shape: [b, dim]), tqe = try d.tensor(qe, shape: [b, dim])
        let tqed = try d.tensor(qed, shape: [b, dim]), tk = try d.tensor(kk, shape: [b, dim])
        let dq = try d.makeTensor([b, dim]), dqe = try d.makeTensor([b, dim]), dqed = try d.makeTensor([b, dim])

        for mining in [PositiveMining.infoNCE, .nearestNeighbours(topK: 1)] {
            objective.aimclr(q: tq, qExtreme: tqe, qDropped: tqed, k: tk, queue: queue, mining: mining,
                             dq: dq, dqExtreme: dqe, dqDropped: dqed)
            let losses = objective.readLosses()
            // NNM positives as the device chose them (checked against a host top-1 below).
            var positives: [[Int]]? = nil
            if case .nearestNeighbours = mining {
                let mask = d.read(objective.lastPositives)
                positives = (0..<b).map { r in (0...k).filter { mask[r * (k + 1) + $0] == 1 } }
                for r in 0..<b {
                    var expected: Set<Int> = [0]
                    for x in [q, qe, qed] {
                        let sims = (0..<k).map { j in (0..<dim).reduce(Float(0)) { $0 + x[r * dim + $1] * queueHost[$1 * k + j] } }
                        expected.insert(1 + sims.indices.max { sims[$0] < sims[$1] }!)
                    }
                    XCTAssertEqual(Set(positives![r]), expected, "NNM positives of row \(r)")
                    XCTAssertTrue((2...4).contains(positives![r].count))
                }
            }
            let reference = referenceLoss(q: q, qe: qe, qed: qed, kk: kk, queue: queueHost, positives: positives)
            XCTAssertEqual(Double(losses.total), reference, accuracy: 1e-5 * max(1, abs(reference)), "\(mining) loss")

            // Finite differences (the target distribution p is a constant in the gradient: perturb
            // q only through the terms that carry its gradient, i.e. keep p fixed for q's check).
            let grads = [d.read(dq), d.read(dqe), d.read(dqed)]
            let h: Float = 1e-3
            for (which, base) in [q, qe, qed].enumerated() {
                for i in [0, 5, 10] {
                    var plus = base, minus = base
                    plus[i] += h; minus[i] -= h
                    func loss(_ x: [Float]) -> Double {
                        switch which {
                        case 0: return contrastiveOnly(q: x, kk: kk, queue: queueHost, positives: positives)
                        case 1: return referenceLoss(q: q, qe: x, qed: qed, kk: kk, queue: queueHost, positives: positives)
                        default: return referenceLoss(q: q, qe: qe, qed: x, kk: kk, queue: queueHost, positives: positives)
                        }
                    }
                    let numeric = (loss(plus) - loss(minus)) / Double(2 * h)
                    XCTAssertEqual(Double(grads[which][i]), numeric, accuracy: 2e-3 * max(1, abs(numeric)),
                                   "\(mining) d/d(view \(which))[\(i)]")
                }
            }
        }
    }

    /// Only the contrastive term depends on q with a gradient (p is detached in D3M).
    func contrastiveOnly(q: [Float], kk: [Float], queue: [Float], positives: [[Int]]?) -> Double {
        var total = 0.0
        for r in 0..<b {
            var row = [Double]()
            row.append((0..<dim).reduce(0.0) { $0 + Double(q[r * dim + $1]) * Double(kk[r * dim + $1]) } / Double(tau))
            for j in 0..<k { row.append((0..<dim).reduce(0.0) { $0 + Double(q[r * dim + $1]) * Double(queue[$1 * k + j]) } / Double(tau)) }
            let m = row.max()!
            let lse = m + log(row.reduce(0.0) { $0 + exp($1 - m) })
            if let pos = positives { total -= pos[r].reduce(0.0) { $0 + row[$1] - lse } / Double(pos[r].count) }
            else { total -= row[0] - lse }
        }
        return total / Double(b)
    }

    func testQueueStartsWithUnitColumnsAndWrapsThePointer() throws {
        let d = CPUDevice(threads: 1)
        let batch = 4, size = 12, dimension = 5
        let queue = try MoCoQueue(device: d, dimension: dimension, size: size, batch: batch, seed: 9)
        let q0 = d.read(queue.keys)
        for col in 0..<size {
            let norm = (0..<dimension).reduce(Float(0)) { $0 + q0[$1 * size + col] * q0[$1 * size + col] }
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
        for stepIndex in 0..<(size / batch + 1) {
            let keys = (0..<(batch * dimension)).map { Float(stepIndex * 100 + $0) }
            let start = queue.pointer
            queue.enqueue(try d.tensor(keys, shape: [batch, dimension]))
            let after = d.read(queue.keys)
            for r in 0..<batch { for c in 0..<dimension { XCTAssertEqual(after[c * size + start + r], keys[r * dimension + c]) } }
            XCTAssertEqual(queue.pointer, (start + batch) % size)
        }
        XCTAssertEqual(queue.pointer, batch, "after size/batch + 1 steps the pointer has wrapped once")
        XCTAssertThrowsError(try MoCoQueue(device: d, dimension: 2, size: 10, batch: 4, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("not divisible"))
        }
    }
}
