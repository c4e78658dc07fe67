import Compute
import XCTest
@testable import NN

/// SGD (PyTorch semantics, spec §5.1), the step LR schedule, gradient clipping and the
/// momentum-encoder update, against values computed by hand in double precision.
final class OptimizerTests: XCTestCase {
    func parameter(_ device: Device, _ values: [Float], name: String = "w") throws -> Parameter {
        try Parameter(name: name, value: device.tensor(values, shape: [values.count]), initRule: .zero)
    }

    func setGradient(_ p: Parameter, _ g: [Float]) throws {
        try p.accumulateGradient { t in g.withUnsafeBufferPointer { p.device.upload($0, to: t) } }
    }

    func testSGDMatchesPyTorchSemanticsOverThreeSteps() throws {
        for nesterov in [false, true] { try checkSGD(nesterov: nesterov) }
    }

    func checkSGD(nesterov: Bool) throws {
        let device = TestSupport.cpu()
        let w0: [Float] = [0.5, -1.25, 2.0, 0.0]
        let grads: [[Float]] = [[0.1, 0.2, -0.3, 0.4], [-0.5, 0.25, 0.0, 1.0], [0.3, -0.1, 0.2, -0.2]]
        let lrs: [Float] = [0.1, 0.1, 0.01]
        let (m, wd) = (0.9, 1e-4)
        let p = try parameter(device, w0)
        let sgd = SGD(parameters: [p], momentum: Float(m), weightDecay: Float(wd), nesterov: nesterov)
        // Reference: torch.optim.SGD step, dampening 0.
        var w = w0.map(Double.init)
        var buf = [Double](repeating: 0, count: 4)
        for (step, g) in grads.enumerated() {
            p.zeroGradient()
            try setGradient(p, g)
            try sgd.step(learningRate: lrs[step])
            for i in 0..<4 {
                let d = Double(g[i]) + wd * w[i]
                buf[i] = step == 0 ? d : m * buf[i] + d
                w[i] -= Double(lrs[step]) * (nesterov ? d + m * buf[i] : buf[i])
            }
            assertClose(device.read(p.value), w.map { Float($0) }, abs: 1e-6, rel: 1e-6, "weights after step \(step + 1) (nesterov \(nesterov))")
            assertClose(device.read(p.momentumBuffer!), buf.map { Float($0) }, abs: 1e-6, rel: 1e-6,
                        "momentum after step \(step + 1)")
        }
        XCTAssertEqual(sgd.steps, 3)
    }

    func testGradientsAccumulateAcrossBackwardsUntilZeroed() throws {
        let device = TestSupport.cpu()
        let p = try parameter(device, [0, 0, 0])
        try setGradient(p, [1, 2, 3])
        try setGradient(p, [10, 20, 30])
        XCTAssertEqual(device.read(p.gradient), [11, 22, 33])
        p.zeroGradient()
        XCTAssertFalse(p.hasGradient)
        try setGradient(p, [4, 5, 6])
        XCTAssertEqual(device.read(p.gradient), [4, 5, 6])
    }

    func testStepScheduleIsOneBasedAndCountsMilestonesBelowEpoch() {
        let pre = StepLRSchedule(baseLearningRate: 0.1, milestones: [250])
        XCTAssertEqual(pre.learningRate(epoch: 1), 0.1, accuracy: 1e-9)
        XCTAssertEqual(pre.learningRate(epoch: 250), 0.1, accuracy: 1e-9)
        XCTAssertEqual(pre.learningRate(epoch: 251), 0.01, accuracy: 1e-9)
        XCTAssertEqual(pre.learningRate(epoch: 300), 0.01, accuracy: 1e-9)
        let linear = StepLRSchedule(baseLearningRate: 3.0, milestones: [80])
        XCTAssertEqual(linear.learningRate(epoch: 80), 3.0, accuracy: 1e-7)
        XCTAssertEqual(linear.learningRate(epoch: 81), 0.3, accuracy: 1e-7)
        let two = StepLRSchedule(baseLearningRate: 1, milestones: [10, 20])
        XCTAssertEqual(two.learningRate(epoch: 21), 0.01, accuracy: 1e-9)
    }

    func testGradientClippingScalesByMaxOverNorm() throws {
        let device = TestSupport.cpu()
        let a = try parameter(device, [0, 0], name: "a")
        let b = try parameter(device, [0, 0, 0], name: "b")
        try setGradient(a, [3, 4])          // ‖·‖² = 25
        try setGradient(b, [0, 12, 0])      // ‖·‖² = 144 → total 13
        let clipper = GradientClipper(parameters: [a, b], maxNorm: 2)
        let total = try clipper.clip()
        XCTAssertEqual(total, 13, accuracy: 1e-5)
        let c = Float(2.0 / (13.0 + 1e-6))
        assertClose(device.read(a.gradient), [3 * c, 4 * c], abs: 1e-7, rel: 1e-6, "a")
        assertClose(device.read(b.gradient), [0, 12 * c, 0], abs: 1e-7, rel: 1e-6, "b")
        XCTAssertEqual(try clipper.norm(), 2, accuracy: 1e-5)
        // Below the limit nothing changes.
        let small = GradientClipper(parameters: [a, b], maxNorm: 5)
        let before = device.read(a.gradient)
        try small.clip()
        XCTAssertEqual(device.read(a.gradient), before)
    }

    func testMomentumUpdateTouchesParametersOnly() throws {
        let device = TestSupport.cpu()
        let config = STGCNConfig(hiddenChannels: 4, hiddenDim: 8,
                                 adjacency: TestSupport.adjacency(joints: 5), joints: 5,
                                 head: .projection(hidden: 8, out: 4))
        let q = try STGCN(config: config, device: device, seed: 1)
        let k = try STGCN(config: config, device: device, seed: 2)
        TestSupport.randomizeState(q, seed: 10)
        TestSupport.randomizeState(k, seed: 20)
        let kBefore = k.parameters.map { device.read($0.value) }
        let qValues = q.parameters.map { device.read($0.value) }
        let buffersBefore = k.buffers.map { device.read($0.value) }
        try momentumUpdate(key: k.parameters, query: q.parameters, momentum: 0.999)
        for (i, p) in k.parameters.enumerated() {
            let expected = zip(kBefore[i], qValues[i]).map { Float(0.999 * Double($0) + 0.001 * Double($1)) }
            assertClose(device.read(p.value), expected, abs: 1e-6, rel: 1e-6, p.name)
        }
        for (i, b) in k.buffers.enumerated() {
            XCTAssertEqual(device.read(b.value), buffersBefore[i], "\(b.name) must not move")
        }
        XCTAssertEqual(k.parameters.count, 2 + 10 * 8 + 3 * 4 + 4 + 10)
    }
}
