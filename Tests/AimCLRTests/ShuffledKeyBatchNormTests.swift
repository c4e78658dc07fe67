import Compute
import CPUBackend
import XCTest
@testable import AimCLR
import NN

/// Shuffled key BN (`--shuffle-bn N`): the key encoder runs on N shuffled sub-batches.
final class ShuffledKeyBatchNormTests: XCTestCase {
    func testOrderIsASeededPermutationThatChangesEveryIteration() {
        let s = ShuffledKeyBatches(splits: 4, batch: 32, seed: 5)
        let a = s.order(iteration: 3)
        XCTAssertEqual(a.sorted(), Array(0..<32))
        XCTAssertEqual(a, s.order(iteration: 3))
        XCTAssertNotEqual(a, s.order(iteration: 4))
        XCTAssertNotEqual(a, ShuffledKeyBatches(splits: 4, batch: 32, seed: 6).order(iteration: 3))
        XCTAssertNotEqual(a, Array(0..<32))
    }

    /// Each key equals the key encoder run (train mode) on its own shuffled sub-batch alone,
    /// and differs from the whole-batch key.
    func testKeysComeFromTheirShuffledSubBatch() throws {
        let device = CPUDevice(threads: 1)
        var c = Tiny.config(batch: 8, queue: 16)
        c.dropout = 0
        c.keyShuffleSplits = 2
        let model = try Tiny.model(c, device: device)
        let view = Tiny.views(batch: 8, seed: 3).key
        try model.enqueueKeys(of: view)
        let queue = device.read(model.queue.keys) // (D, K)
        let d = c.featureDim, k = c.queueSize
        func queued(_ sample: Int) -> [Float] { (0..<d).map { queue[$0 * k + sample] } }

        let order = ShuffledKeyBatches(splits: 2, batch: 8, seed: c.seed).order(iteration: 0)
        let sampleLength = view.count / 8
        let geometry = InputGeometry(samples: 4, channels: 3, frames: Tiny.frames, joints: Tiny.joints, persons: Tiny.persons)
        let context = try model.encoderK.makeContext(geometry, requiresGrad: false)
        func normalized(_ row: ArraySlice<Float>) -> [Float] {
            let n = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            return row.map { $0 / n }
        }
        var worst: Float = 0
        for part in 0..<2 {
            let rows = order[(part * 4)..<((part + 1) * 4)]
            var sub: [Float] = []
            for r in rows { sub += view[(r * sampleLength)..<((r + 1) * sampleLength)] }
            sub.withUnsafeBufferPointer { device.upload($0, to: context.input) }
            try model.encoderK.forward(context.input, context: context, training: true, dropout: DropoutKeys(seed: 0))
            let out = device.read(context.output)
            for (j, r) in rows.enumerated() {
                let expected = normalized(out[(j * d)..<((j + 1) * d)])
                for (a, b) in zip(queued(r), expected) { worst = max(worst, abs(a - b)) }
            }
        }
        XCTAssertLessThan(worst, 1e-5, "split keys vs the key encoder on each sub-batch")

        // The whole-batch keys (the reference) differ: the statistics are another batch's.
        var whole = c
        whole.keyShuffleSplits = 1
        let reference = try Tiny.model(whole, device: device)
        try reference.enqueueKeys(of: view)
        let referenceQueue = device.read(reference.queue.keys)
        let difference = zip(queue.prefix(d * k), referenceQueue.prefix(d * k)).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(difference, 1e-3)
    }

    func testSplitsThatDoNotDivideTheBatchAreRefusedByName() {
        var c = Tiny.config(batch: 8, queue: 16)
        c.keyShuffleSplits = 3
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("shuffle_bn_splits")) }
        c.keyShuffleSplits = 8 // sub-batches of one sample: BN statistics undefined
        XCTAssertThrowsError(try c.validate())
        c.keyShuffleSplits = 4
        XCTAssertNoThrow(try c.validate())
    }
}
