import Compute
import CPUBackend
import Foundation
import OpenCLBackend
import XCTest

/// The fused end of a training block (`dropoutResidualReLU`) and its backward
/// (`reluDropoutBackward`): on OpenCL one kernel each, bit-identical to the ops they replace
/// (dropout, residual sum, ReLU) on the CPU backend and on OpenCL itself, for the whole batch and
/// for a data-parallel rank's slice of it, with and without a residual.
final class FusedBlockEndTests: XCTestCase {
    let p: Float = 0.5
    let key = RandomKey(seed: 0xC0FFEE, stream: 9, step: 31)

    /// (outer 3, samples 5, inner 7) of a whole batch of 12 samples, this part at sample 4.
    let slice = DropoutSampleSlice(samples: 5, globalSamples: 12, offset: 4, inner: 7)

    func testForwardMatchesTheComposedOps() throws {
        let cl = try OpenCLTestDevice.get(), cpu = CPUDevice(threads: 2)
        var rng = TestRandom(61)
        for part in [nil, slice] {
            let n = part == nil ? 4 * 999 + 3 : 3 * 5 * 7  // not a multiple of 4 for the whole batch
            let xv = rng.values(n), rv = rng.values(n)
            for withResidual in [false, true] {
                let what = "\(part == nil ? "whole batch" : "slice"), \(withResidual ? "residual" : "no residual")"
                var outputs: [[Float]] = []
                for d in [cpu as Device, cl as Device] {
                    let x = try d.tensor(xv, shape: [n]), r = try d.tensor(rv, shape: [n]), y = try d.makeTensor([n])
                    d.dropoutResidualReLU(x: x, p: p, key: key, slice: part, residual: withResidual ? r : nil, y: y)
                    // The unfused ops on the same device.
                    let z = try d.makeTensor([n])
                    d.dropoutForward(x: x, p: p, key: key, slice: part, y: z)
                    if withResidual { d.addReLU(z, r, y: z) } else { d.reluForward(x: z, y: z) }
                    XCTAssertEqual(d.read(y), d.read(z), "\(d.name), \(what): fused = dropout, sum, ReLU")
                    // In place over x.
                    d.dropoutResidualReLU(x: x, p: p, key: key, slice: part, residual: withResidual ? r : nil, y: x)
                    XCTAssertEqual(d.read(x), d.read(z), "\(d.name), \(what): in place")
                    XCTAssertNil(d.takeError())
                    outputs.append(d.read(y))
                }
                XCTAssertEqual(outputs[0], outputs[1], "\(what): OpenCL = CPU")
                // Half the elements dropped, and those read max(residual, 0) or 0.
                let mask = (0..<n).map { i in key.uniform(part.map { $0.globalIndex(i) } ?? i) >= p }
                for i in 0..<n where !mask[i] { XCTAssertEqual(outputs[1][i], withResidual ? max(rv[i], 0) : 0) }
                XCTAssertEqual(Double(mask.filter { $0 }.count) / Double(n), 0.5, accuracy: 0.1, what)
            }
        }
    }

    func testBackwardMatchesTheComposedOps() throws {
        let cl = try OpenCLTestDevice.get(), cpu = CPUDevice(threads: 2)
        var rng = TestRandom(62)
        for part in [nil, slice] {
            let n = part == nil ? 4 * 999 + 3 : 3 * 5 * 7
            let yv = rng.values(n), dyv = rng.values(n)
            let what = part == nil ? "whole batch" : "slice"
            var outputs: [[Float]] = []
            for d in [cpu as Device, cl as Device] {
                let y = try d.tensor(yv, shape: [n]), dy = try d.tensor(dyv, shape: [n])
                let masked = try d.makeTensor([n]), dx = try d.makeTensor([n])
                d.reluDropoutBackward(y: y, dy: dy, p: p, key: key, slice: part, masked: masked, dx: dx)
                let m2 = try d.makeTensor([n]), dx2 = try d.makeTensor([n])
                d.reluBackward(y: y, dy: dy, dx: m2)
                d.dropoutBackward(dy: m2, p: p, key: key, slice: part, dx: dx2)
                XCTAssertEqual(d.read(masked), d.read(m2), "\(d.name), \(what): masked")
                XCTAssertEqual(d.read(dx), d.read(dx2), "\(d.name), \(what): dx")
                // masked over dy.
                d.reluDropoutBackward(y: y, dy: dy, p: p, key: key, slice: part, masked: dy, dx: dx)
                XCTAssertEqual(d.read(dy), d.read(m2), "\(d.name), \(what): masked in place")
                XCTAssertEqual(d.read(dx), d.read(dx2), "\(d.name), \(what): dx after masking in place")
                XCTAssertNil(d.takeError())
                outputs.append(d.read(dx2))
            }
            XCTAssertEqual(outputs[0], outputs[1], "\(what): OpenCL = CPU")
            XCTAssertEqual(outputs[1].filter { $0 != 0 }.count, (0..<n).filter { i in
                yv[i] > 0 && dyv[i] != 0 && key.uniform(part.map { $0.globalIndex(i) } ?? i) >= p
            }.count, "\(what): kept where y > 0 and the element was kept")
        }
    }

    func testAliasedResidualAndMaskedAreContractErrors() throws {
        for d in [CPUDevice(threads: 1) as Device, try OpenCLTestDevice.get() as Device] {
            _ = d.takeError()
            let a = try d.tensor(filledWith: 1, shape: [8]), b = try d.tensor(filledWith: 1, shape: [8])
            d.dropoutResidualReLU(x: a, p: p, key: key, slice: nil, residual: b, y: b)
            XCTAssertTrue("\(d.takeError().map { "\($0)" } ?? "none")".contains("aliases the residual"), d.name)
            d.reluDropoutBackward(y: a, dy: a, p: p, key: key, slice: nil, masked: b, dx: b)
            XCTAssertTrue("\(d.takeError().map { "\($0)" } ?? "none")".contains("dx aliases masked"), d.name)
        }
    }
}
