import XCTest
import Compute
import CPUBackend

/// SGD with momentum and weight decay (PyTorch semantics, first step included), the
/// momentum encoder update and the sum of squares. One or two float roundings per
/// element: abs 1e-6 + rel 1e-5.
final class CPUOptimiserTests: XCTestCase {
    let device = CPUDevice(threads: 2)

    func testSGDMatchesPyTorchOverSteps() throws {
        for nesterov in [false, true] {
            let n = 70_001
            var rng = RefRandom(seed: 900)
            var w = rng.values(n)
            var buffer: [Double]? = nil
            let wt = try device.tensor(w, [n]), gt = try device.makeTensor([n])
            let bt = try device.tensor(filledWith: .nan, shape: [n])   // the first step must not read it
            for step in 0 ..< 3 {
                let g = rng.values(n)
                device.write(g, to: gt)
                device.sgdStep(weight: wt, grad: gt, momentumBuffer: bt, learningRate: 0.1, momentum: 0.9,
                               weightDecay: 1e-4, firstStep: step == 0, nesterov: nesterov)
                Ref.sgd(weight: &w, grad: g, buffer: &buffer, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: nesterov)
                assertClose(device.read(wt), w, abs: 1e-6, rel: 1e-5, "SGD (nesterov \(nesterov)) weight after step \(step)")
                assertClose(device.read(bt), buffer!, abs: 1e-6, rel: 1e-5, "SGD (nesterov \(nesterov)) buffer after step \(step)")
                // Keep the reference on the device's float values so errors do not compound.
                w = device.read(wt).doubles
                buffer = device.read(bt).doubles
            }
        }
    }

    /// Nesterov moves the weights further along the momentum than plain SGD, by lr·m·buf.
    func testNesterovDiffersFromPlainSGDByTheLookAhead() throws {
        let w: [Double] = [1, -2, 0.5], g: [Double] = [0.3, 0.1, -0.4]
        var out: [[Float]] = []
        for nesterov in [false, true] {
            let wt = try device.tensor(w, [3]), gt = try device.tensor(g, [3]), bt = try device.makeTensor([3])
            device.sgdStep(weight: wt, grad: gt, momentumBuffer: bt, learningRate: 0.5, momentum: 0.9,
                           weightDecay: 0, firstStep: true, nesterov: nesterov)
            out.append(device.read(wt))
        }
        // First step: buf = g, so plain moves by lr·g and Nesterov by lr·(g + m·g).
        assertClose(out[0], zip(w, g).map { $0 - 0.5 * $1 }, abs: 1e-7, rel: 1e-6, "plain")
        assertClose(out[1], zip(w, g).map { $0 - 0.5 * 1.9 * $1 }, abs: 1e-7, rel: 1e-6, "nesterov")
    }

    func testMomentumUpdate() throws {
        var rng = RefRandom(seed: 901)
        let k = rng.values(1001), q = rng.values(1001)
        let kt = try device.tensor(k, [1001]), qt = try device.tensor(q, [1001])
        device.momentumUpdate(key: kt, query: qt, momentum: 0.999)
        assertClose(device.read(kt), zip(k, q).map { 0.999 * $0 + 0.001 * $1 }, abs: 1e-6, rel: 1e-5, "momentum update")
    }

    func testSumOfSquares() throws {
        var rng = RefRandom(seed: 902)
        for n in [1, 7, 100_003] {
            let x = rng.values(n, -3, 3)
            let xt = try device.tensor(x, [n]), out = try device.makeTensor([1])
            device.sumOfSquares(xt, out: out)
            assertClose([device.scalar(out)], [x.reduce(0) { $0 + $1 * $1 }], abs: 1e-6, rel: 1e-6, "sum of squares n=\(n)")
        }
    }
}
