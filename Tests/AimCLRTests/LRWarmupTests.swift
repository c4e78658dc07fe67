import CPUBackend
import XCTest
@testable import AimCLR

/// The linear learning-rate warm-up (`lr_warmup_epochs`, not in the reference): per iteration
/// from base / W to base over W = epochs · iterations per epoch, then the step schedule.
final class LRWarmupTests: XCTestCase {
    func testWarmupRisesLinearlyThenFollowsTheSteps() {
        var c = PretrainConfig()
        c.baseLR = 0.4
        c.steps = [3]
        c.lrWarmupEpochs = 2
        let rates = (0..<16).map { i in c.learningRate(epoch: i / 4 + 1, iteration: i, iterationsPerEpoch: 4) }
        for i in 0..<8 { XCTAssertEqual(rates[i], 0.4 * Float(i + 1) / 8, accuracy: 1e-7, "iteration \(i)") }
        for i in 8..<12 { XCTAssertEqual(rates[i], 0.4, accuracy: 1e-7, "iteration \(i)") }
        for i in 12..<16 { XCTAssertEqual(rates[i], 0.04, accuracy: 1e-7, "iteration \(i)") }

        c.lrWarmupEpochs = 0
        XCTAssertEqual(c.learningRate(epoch: 1, iteration: 0, iterationsPerEpoch: 4), 0.4, "no warm-up: the reference's schedule")
    }

    func testWarmupBeyondTheRunIsRefused() {
        var c = PretrainConfig()
        c.numEpoch = 5
        c.lrWarmupEpochs = 6
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("lr_warmup_epochs"), "\($0)") }
        c.lrWarmupEpochs = -1
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("lr_warmup_epochs"), "\($0)") }
    }

    /// The optimizer takes the scaled rate: the first warm-up step at base 0.8 over 8 iterations
    /// is the step at lr 0.1 without warm-up, bit for bit; the second (lr 0.2) is not.
    func testTheStepUsesTheWarmedUpRate() throws {
        var warm = Tiny.config(batch: 4, queue: 16)
        warm.baseLR = 0.8
        warm.lrWarmupEpochs = 1
        var plain = warm
        plain.baseLR = 0.1
        plain.lrWarmupEpochs = 0
        let a = try Tiny.model(warm, device: CPUDevice(threads: 1))
        let b = try Tiny.model(plain, device: CPUDevice(threads: 1))
        a.iterationsPerEpoch = 8
        b.iterationsPerEpoch = 8
        XCTAssertEqual(a.learningRate(epoch: 1), 0.1)

        let views = Tiny.relatedViews(batch: 4, seed: 3)
        try a.step(views, epoch: 1)
        try b.step(views, epoch: 1)
        let pa = a.encoderQ.parameters.map { a.device.read($0.value) }
        let pb = b.encoderQ.parameters.map { b.device.read($0.value) }
        XCTAssertEqual(pa, pb, "first warm-up step = the step at base / 8")

        XCTAssertEqual(a.learningRate(epoch: 1), 0.2)
        try a.step(views, epoch: 1)
        try b.step(views, epoch: 1)
        let qa = a.encoderQ.parameters.map { a.device.read($0.value) }
        let qb = b.encoderQ.parameters.map { b.device.read($0.value) }
        XCTAssertNotEqual(qa, qb, "the second warm-up step uses lr 0.2")
    }
}
