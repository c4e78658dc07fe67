import Compute
import CPUBackend
import XCTest
@testable import AimCLR

/// Finite-difference check of a whole AimCLR step's gradients (query encoder parameters),
/// through both views, EADM and the shared projection head.
final class StepGradientTests: XCTestCase {
    func testAimCLRStepGradientsMatchFiniteDifferences() throws {
        try checkStep(method: .aimclr)
    }

    func testSkeletonCLRStepGradientsMatchFiniteDifferences() throws {
        try checkStep(method: .skeletonclr)
    }

    /// The D3M target carries no gradient, so the finite differences hold it fixed at the
    /// unperturbed step's logits; the key encoder is not updated, so k is fixed as well.
    /// EADM's masks and batch-global rescales are piecewise constant: a perturbation that flips
    /// one mask entry rescales every element, which finite differences cannot see past, so the
    /// whole-step check runs with the pass-through switch (the op's own gradient is checked in
    /// the backend tests) while still exercising both head passes and their summed backward.
    func checkStep(method: PretrainMethod) throws {
        let d = CPUDevice(threads: 1)
        var c = Tiny.config(batch: 4, queue: 8)
        c.dropout = 0
        c.method = method
        c.eadmNoOp = true
        let model = try Tiny.model(c, device: d)
        // Fill the queue with real keys so the logits are not dominated by random columns.
        let views = Tiny.relatedViews(batch: c.batchSize, seed: 5)
        try model.forwardBackward(views, epoch: 1, momentumUpdate: false)
        model.queue.enqueue(model.k)
        try model.forwardBackward(Tiny.relatedViews(batch: c.batchSize, seed: 6), epoch: 1, momentumUpdate: false)
        model.queue.enqueue(model.k)

        for epoch in [1, c.miningEpoch + 1] {
            model.frozenD3MTarget = nil
            try model.forwardBackward(views, epoch: epoch, momentumUpdate: false)
            let target = try d.makeTensor(model.objective.lastLogits.shape)
            d.copy(model.objective.lastLogits, srcOffset: 0, to: target, dstOffset: 0, count: target.count)
            model.frozenD3MTarget = target
            let base = try model.forwardBackward(views, epoch: epoch, momentumUpdate: false)
            XCTAssertTrue(base.total.isFinite)
            let names = ["st_gcn_networks.0.gcn.conv.weight", "st_gcn_networks.9.tcn.2.weight",
                         "edge_importance.3", "data_bn.weight", "fc.0.weight", "fc.2.bias"]
            for name in names {
                let p = try XCTUnwrap(model.encoderQ.parameter(named: name))
                let grad = d.read(p.gradient)
                var w = d.read(p.value)
                let scale = grad.map { abs($0) }.max()!
                // The largest-gradient entry, where the finite difference is best conditioned.
                let i = grad.indices.max { abs(grad[$0]) < abs(grad[$1]) }!
                // A step small against the tensor's own scale (fresh weights are N(0, 0.02²)).
                let rms = (w.reduce(Float(0)) { $0 + $1 * $1 } / Float(w.count)).squareRoot()
                let h: Float = max(3e-3 * rms, 1e-5)
                let original = w[i]
                w[i] = original + h; w.withUnsafeBufferPointer { d.upload($0, to: p.value) }
                let plus = try model.forwardBackward(views, epoch: epoch, momentumUpdate: false).total
                w[i] = original - h; w.withUnsafeBufferPointer { d.upload($0, to: p.value) }
                let minus = try model.forwardBackward(views, epoch: epoch, momentumUpdate: false).total
                w[i] = original; w.withUnsafeBufferPointer { d.upload($0, to: p.value) }
                let numeric = (plus - minus) / (2 * h)
                XCTAssertEqual(grad[i], numeric, accuracy: 5e-2 * scale + 1e-4,
                               "epoch \(epoch) \(name)[\(i)]: analytic \(grad[i]) vs numeric \(numeric)")
            }
        }
    }
}
