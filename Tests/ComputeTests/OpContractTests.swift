import Compute
import CPUBackend
import OpenCLBackend
import XCTest

/// Every op under `OpContract` refuses a call that breaks its contract in the same way on both
/// backends: nothing is written (the output keeps a sentinel), the device keeps a typed
/// shape-mismatch error naming the op, and `checkErrors()` throws it once. A valid call leaves no
/// error, and both backends charge the profiler the contract's flops and bytes.
final class OpContractTests: XCTestCase {
    private let sentinel: Float = 7.25

    private func devices() throws -> [Device] { [CPUDevice(threads: 2), try OpenCLTestDevice.get()] }

    private func filled(_ d: Device, _ shape: [Int], _ value: Float = 1) throws -> Tensor {
        let t = try d.makeTensor(shape)
        d.fill(t, value: value)
        return t
    }

    /// One bad call per op: `call` runs it on `d` with outputs made by `out` (checked for the sentinel).
    private struct BadCall {
        let op: String
        let run: (Device, (_ shape: [Int]) throws -> Tensor) throws -> Void
    }

    private var badCalls: [BadCall] {
        [
            BadCall(op: "reluForward") { d, out in d.reluForward(x: try self.filled(d, [10]), y: try out([9])) },
            BadCall(op: "reluBackward") { d, out in
                d.reluBackward(y: try self.filled(d, [10]), dy: try self.filled(d, [4]), dx: try out([10]))
            },
            BadCall(op: "dropoutForward") { d, out in
                d.dropoutForward(x: try self.filled(d, [8]), p: 0.5, key: RandomKey(seed: 1, stream: 1, step: 1), y: try out([7]))
            },
            BadCall(op: "dropoutBackward") { d, out in
                d.dropoutBackward(dy: try self.filled(d, [8]), p: 1.5, key: RandomKey(seed: 1, stream: 1, step: 1), dx: try out([8]))
            },
            BadCall(op: "add") { d, out in d.add(try self.filled(d, [6]), try self.filled(d, [5]), y: try out([6])) },
            BadCall(op: "addReLU") { d, out in d.addReLU(try self.filled(d, [6]), try self.filled(d, [6]), y: try out([5])) },
            BadCall(op: "multiply") { d, out in d.multiply(try self.filled(d, [6]), try self.filled(d, [2]), y: try out([6])) },
            BadCall(op: "axpby") { d, out in d.axpby(alpha: 1, x: try self.filled(d, [6]), beta: 0, y: try out([5])) },
            BadCall(op: "permute") { d, out in
                d.permute(x: try self.filled(d, [24]), shape: [2, 3, 4], perm: [0, 0, 1], y: try out([24]))
            },
            BadCall(op: "poolForward") { d, out in
                d.poolForward(x: try self.filled(d, [2 * 3 * 2 * 5]), channels: 2, samples: 3, persons: 2, plane: 5,
                              y: try out([5]))
            },
            BadCall(op: "poolBackward") { d, out in
                d.poolBackward(dy: try self.filled(d, [6]), channels: 2, samples: 3, persons: 2, plane: 5,
                               dx: try out([2 * 3 * 2 * 5 - 1]))
            },
            BadCall(op: "linearForward") { d, out in
                d.linearForward(x: try self.filled(d, [3, 4]), weight: try self.filled(d, [5, 4]),
                                bias: try self.filled(d, [5]), y: try out([14]))
            },
            BadCall(op: "linearBackward") { d, out in
                d.linearBackward(x: try self.filled(d, [3, 4]), weight: try self.filled(d, [5, 4]), dy: try self.filled(d, [3, 5]),
                                 dx: try out([3, 4]), dWeight: try out([5, 3]), dBias: try out([5]))
            },
            BadCall(op: "l2NormalizeForward") { d, out in
                d.l2NormalizeForward(x: try self.filled(d, [3, 4]), epsilon: 1e-12, y: try out([11]))
            },
            BadCall(op: "l2NormalizeBackward") { d, out in
                d.l2NormalizeBackward(x: try self.filled(d, [3, 4]), epsilon: 1e-12, dy: try self.filled(d, [3, 3]),
                                      dx: try out([3, 4]))
            },
            BadCall(op: "softmaxCrossEntropy") { d, out in
                d.softmaxCrossEntropy(logits: try self.filled(d, [4, 6]), labels: try self.filled(d, [3], 0), scale: 1,
                                      loss: try out([1]), dLogits: try out([4, 6]))
            },
            BadCall(op: "softTargetCrossEntropy") { d, out in
                d.softTargetCrossEntropy(logits: try self.filled(d, [4, 6]), targetLogits: try self.filled(d, [4, 6]),
                                         scale: 1, loss: try out([1]), dLogits: try out([4, 5]))
            },
            BadCall(op: "maskedCrossEntropy") { d, out in
                d.maskedCrossEntropy(logits: try self.filled(d, [4, 6]), positives: try self.filled(d, [4, 5]), scale: 1,
                                     loss: try out([1]), dLogits: try out([4, 6]))
            },
            BadCall(op: "contrastiveLogits") { d, out in
                d.contrastiveLogits(q: try self.filled(d, [3, 4]), k: try self.filled(d, [3, 4]), queue: try self.filled(d, [5, 8]),
                                    temperature: 0.2, logits: try out([3, 9]))
            },
            BadCall(op: "contrastiveLogitsBackward") { d, out in
                d.contrastiveLogitsBackward(k: try self.filled(d, [3, 4]), queue: try self.filled(d, [4, 8]), temperature: 0.2,
                                            dLogits: try self.filled(d, [3, 8]), dq: try out([3, 4]))
            },
            BadCall(op: "enqueue") { d, out in
                d.enqueue(keys: try self.filled(d, [3, 4]), queue: try out([4, 8]), pointer: 6)
            },
            BadCall(op: "nearestNeighbourMask") { d, out in
                d.nearestNeighbourMask(similarities: [try self.filled(d, [3, 9]), try self.filled(d, [3, 8])], topK: 1,
                                       mask: try out([3, 9]))
            },
            BadCall(op: "eadmForward") { d, out in
                let s = ActivationShape(channels: 2, batch: 2, frames: 3, joints: 4)
                d.eadmForward(x: try self.filled(d, [s.count]), shape: s, threshold: 0.7, lambda: 1e-4, noOp: false,
                              scale: try out([s.count]), y: try out([s.count - 1]))
            },
            BadCall(op: "conv1x1Forward") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.conv1x1Forward(x: try self.filled(d, [s.count]), input: s, stride: 2, weight: try self.filled(d, [6, 3]),
                                 bias: try self.filled(d, [6]), y: try out([6 * 2 * 3 * 4 - 1]))
            },
            BadCall(op: "conv1x1Backward") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.conv1x1Backward(x: try self.filled(d, [s.count]), input: s, stride: 0, weight: try self.filled(d, [6, 3]),
                                  dy: try self.filled(d, [6 * 2 * 5 * 4]), dx: try out([s.count]), accumulate: false,
                                  dWeight: try out([6, 3]), dBias: try out([6]))
            },
            BadCall(op: "temporalConvForward") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.temporalConvForward(x: try self.filled(d, [s.count]), input: s, kernel: 4, stride: 1,
                                      weight: try self.filled(d, [6, 3, 4, 1]), bias: try self.filled(d, [6]), columns: nil,
                                      y: try out([6 * 40]))
            },
            BadCall(op: "temporalConvBackward") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.temporalConvBackward(x: try self.filled(d, [s.count]), input: s, kernel: 3, stride: 1,
                                       weight: try self.filled(d, [6, 3, 3, 1]), columns: try out([9 * 40 - 1]),
                                       dy: try self.filled(d, [6 * 40]), dx: try out([s.count]), accumulate: false,
                                       dWeight: try out([6 * 9]), dBias: try out([6]))
            },
            BadCall(op: "temporalConvInference") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                let e = ChannelEpilogue(scale: try self.filled(d, [5]), shift: try self.filled(d, [6]), relu: true)
                d.temporalConvInference(x: try self.filled(d, [s.count]), input: s, kernel: 3, stride: 1,
                                        weight: try self.filled(d, [6, 3, 3, 1]), bias: try self.filled(d, [6]),
                                        epilogue: e, y: try out([6 * 40]))
            },
            BadCall(op: "graphConvForward") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.graphConvForward(x: try self.filled(d, [s.count]), input: s, weight: try self.filled(d, [3 * 6, 3]),
                                   bias: try self.filled(d, [18]), adjacency: try self.filled(d, [3, 4, 4]),
                                   importance: try self.filled(d, [3, 4, 3]), z: try out([18 * 40]), y: try out([6 * 40]))
            },
            BadCall(op: "graphConvBackward") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.graphConvBackward(x: try self.filled(d, [s.count]), input: s, weight: try self.filled(d, [3 * 6, 3]),
                                    adjacency: try self.filled(d, [3, 4, 4]), importance: try self.filled(d, [3, 4, 4]),
                                    z: try self.filled(d, [18 * 40]), dy: try self.filled(d, [6 * 40]), dz: try out([18 * 40 - 1]),
                                    dx: try out([s.count]), accumulate: false, dWeight: try out([18, 3]),
                                    dBias: try out([18]), dImportance: try out([3, 4, 4]))
            },
            BadCall(op: "graphConvInference") { d, out in
                let s = ActivationShape(channels: 3, batch: 2, frames: 5, joints: 4)
                d.graphConvInference(x: try self.filled(d, [s.count]), input: s, weight: try self.filled(d, [3 * 6, 3]),
                                     bias: try self.filled(d, [18]), adjacency: try self.filled(d, [3, 4, 4]),
                                     importance: try self.filled(d, [3, 4, 4]), epilogue: nil, y: try out([6 * 40 - 1]))
            },
            BadCall(op: "applyEpilogue") { d, out in
                let e = ChannelEpilogue(scale: try self.filled(d, [4]), shift: try self.filled(d, [4]),
                                        residual: try self.filled(d, [10]), relu: false)
                d.applyEpilogue(e, x: try self.filled(d, [4, 5]), channels: 4, y: try out([4, 5]))
            },
            BadCall(op: "batchNormInferenceAffine") { d, out in
                d.batchNormInferenceAffine(gamma: try self.filled(d, [4]), beta: try self.filled(d, [4]),
                                           runningMean: try self.filled(d, [3]), runningVar: try self.filled(d, [4]),
                                           epsilon: 1e-5, scale: try out([4]), shift: try out([4]))
            },
            BadCall(op: "gemm") { d, out in
                d.gemm(transA: false, transB: false, m: 3, n: 4, k: 5, alpha: 1, a: try self.filled(d, [15]), aOffset: 0, lda: 5,
                       b: try self.filled(d, [20]), bOffset: 1, ldb: 4, beta: 0, c: try out([12]), cOffset: 0, ldc: 4)
            },
            BadCall(op: "gemmStridedBatched") { d, out in
                d.gemmStridedBatched(transA: false, transB: false, m: 3, n: 4, k: 5, alpha: 1, a: try self.filled(d, [30]),
                                     aOffset: 0, lda: 5, strideA: 15, b: try self.filled(d, [40]), bOffset: 0, ldb: 4,
                                     strideB: 20, beta: 0, c: try out([23]), cOffset: 0, ldc: 4, strideC: 12, batch: 2)
            },
            BadCall(op: "copy") { d, out in
                d.copy(try self.filled(d, [8]), srcOffset: 4, to: try out([8]), dstOffset: 0, count: 5)
            },
            BadCall(op: "upload") { d, out in
                let t = try out([3])
                [Float](repeating: 1, count: 4).withUnsafeBufferPointer { d.upload($0, to: t) }
            },
            BadCall(op: "sgdStep") { d, out in
                d.sgdStep(weight: try out([6]), grad: try self.filled(d, [5]), momentumBuffer: try out([6]), learningRate: 0.1,
                          momentum: 0.9, weightDecay: 0, firstStep: true)
            },
            BadCall(op: "momentumUpdate") { d, out in
                d.momentumUpdate(key: try out([6]), query: try self.filled(d, [5]), momentum: 0.9)
            },
            BadCall(op: "sumOfSquares") { d, out in d.sumOfSquares(try self.filled(d, [6]), out: try out([0])) },
            BadCall(op: "batchNormForward") { d, out in
                d.batchNormForward(x: try self.filled(d, [3, 10]), channels: 4, training: true, momentum: 0.1, epsilon: 1e-5,
                                   gamma: try self.filled(d, [4]), beta: try self.filled(d, [4]),
                                   runningMean: try out([4]), runningVar: try out([4]), savedMean: try out([4]),
                                   savedInvStd: try out([4]), relu: false, y: try out([30]))
            },
            BadCall(op: "batchNormBackward") { d, out in
                d.batchNormBackward(x: try self.filled(d, [3, 10]), channels: 3, training: true, gamma: try self.filled(d, [3]),
                                    savedMean: try self.filled(d, [3]), savedInvStd: try self.filled(d, [3]),
                                    dy: try self.filled(d, [29]), dx: try out([30]), dGamma: try out([3]), dBeta: try out([3]))
            },
        ]
    }

    func testEveryOpRefusesABrokenContractOnBothBackends() throws {
        for d in try devices() {
            XCTAssertNil(d.takeError(), "\(d.name): no error before the calls")
            for call in badCalls {
                var outputs: [Tensor] = []
                let out: ([Int]) throws -> Tensor = { shape in
                    let t = try self.filled(d, shape, self.sentinel)
                    outputs.append(t)
                    return t
                }
                try call.run(d, out)
                d.synchronize()
                for (i, t) in outputs.enumerated() {
                    XCTAssertTrue(d.read(t).allSatisfy { $0 == sentinel }, "\(d.kind) \(call.op): output \(i) was written")
                }
                let error = d.takeError()
                guard case .shapeMismatch(let op, let detail)? = error else {
                    XCTFail("\(d.kind) \(call.op): expected a shape mismatch, got \(String(describing: error))")
                    continue
                }
                XCTAssertEqual(op, call.op, "\(d.kind): the error names the op (\(detail))")
                XCTAssertFalse(detail.isEmpty)
                XCTAssertNil(d.takeError(), "\(d.kind) \(call.op): the error is taken once")
            }
        }
    }

    func testDownloadOfMoreValuesThanTheTensorHoldsWritesNothing() throws {
        for d in try devices() {
            var host = [Float](repeating: sentinel, count: 5)
            let t = try filled(d, [4])
            host.withUnsafeMutableBufferPointer { d.download(t, into: $0) }
            XCTAssertEqual(host, [Float](repeating: sentinel, count: 5), "\(d.kind)")
            guard case .shapeMismatch(let op, _)? = d.takeError() else { return XCTFail("\(d.kind): no error") }
            XCTAssertEqual(op, "download")
        }
    }

    func testCheckErrorsThrowsTheFirstViolationOnce() throws {
        for d in try devices() {
            d.reluForward(x: try filled(d, [4]), y: try filled(d, [3]))
            d.add(try filled(d, [4]), try filled(d, [1]), y: try filled(d, [4]))
            XCTAssertThrowsError(try d.checkErrors()) { error in
                XCTAssertEqual((error as? DeviceError).map { "\($0)" }?.hasPrefix("reluForward: shape mismatch"), true,
                               "\(d.kind): the first violation is kept: \(error)")
            }
            XCTAssertNoThrow(try d.checkErrors())
            d.reluForward(x: try filled(d, [4]), y: try filled(d, [4]))
            XCTAssertNoThrow(try d.checkErrors(), "\(d.kind): a valid call leaves no error")
        }
    }

    /// Both backends charge the profiler what the contract says for the same calls.
    func testProfilersCountTheContractsCosts() throws {
        var byDevice: [[String: OpTiming]] = []
        for d in try devices() {
            d.profilingEnabled = true
            d.resetProfile()
            let x = try filled(d, [4, 6]), y = try filled(d, [4, 6])
            d.reluForward(x: x, y: y)
            d.add(x, x, y: y)
            d.l2NormalizeForward(x: x, epsilon: 1e-12, y: y)
            d.batchNormForward(x: x, channels: 4, training: true, momentum: 0.1, epsilon: 1e-5, gamma: try filled(d, [4]),
                               beta: try filled(d, [4]), runningMean: try filled(d, [4]), runningVar: try filled(d, [4]),
                               savedMean: try filled(d, [4]), savedInvStd: try filled(d, [4]), relu: false, y: y)
            d.synchronize()
            byDevice.append(Dictionary(d.profile().map { ($0.op, $0) }, uniquingKeysWith: { a, _ in a }))
            d.profilingEnabled = false
            XCTAssertNil(d.takeError())
        }
        let n = 24
        let want: [String: OpCost] = [
            "reluForward": OpCost(flops: Double(n), bytes: Double(8 * n)),
            "add": OpCost(flops: Double(n), bytes: Double(12 * n)),
            "l2NormalizeForward": OpCost(flops: Double(3 * n), bytes: Double(8 * n)),
            "batchNormForward": OpCost(flops: Double(7 * n), bytes: Double(12 * n)),
        ]
        for timings in byDevice {
            for (op, cost) in want {
                XCTAssertEqual(timings[op]?.flops, cost.flops, "\(op) flops")
                XCTAssertEqual(timings[op]?.bytes, cost.bytes, "\(op) bytes")
            }
        }
    }
}
