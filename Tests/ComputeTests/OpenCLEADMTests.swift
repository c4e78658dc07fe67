import Compute
import Foundation
import OpenCLBackend
import XCTest

/// EADM against a double-precision reference of spec §2.6: identical masks, equal scales.
final class OpenCLEADMTests: XCTestCase {
    func testEADMMasksAndBatchGlobalRescale() throws {
        let dev = try OpenCLTestDevice.get()
        let s = ActivationShape(channels: 32, batch: 4, frames: 13, joints: 25)
        let tau: Float = 0.7, lambda: Float = 1e-4
        var rng = TestRandom(81)
        // Non-negative like a ReLU output; a few joints stand out in every channel and frame,
        // so their attention is high and the spatial mask drops them.
        var xv = rng.values(s.count, 0, 1)
        let loud: Set<Int> = [3, 30, 57, 99]  // n·V + v
        for c in 0..<s.channels { for n in 0..<s.batch { for t in 0..<s.frames { for v in 0..<s.joints
            where loud.contains(n * s.joints + v) {
            xv[((c * s.batch + n) * s.frames + t) * s.joints + v] += 4
        } } } }
        let x = try dev.tensor(xv, shape: s.dims), scale = try dev.makeTensor(s.dims), y = try dev.makeTensor(s.dims)
        dev.eadmForward(x: x, shape: s, threshold: tau, lambda: lambda, noOp: false, scale: scale, y: y)

        // Reference.
        let plane = s.frames * s.joints
        var att = [Double](repeating: 0, count: s.count)
        for p in 0..<(s.channels * s.batch) {
            let vals = (0..<plane).map { Double(xv[p * plane + $0]) }
            let mu = vals.reduce(0, +) / Double(plane)
            let v = vals.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(plane - 1)
            for i in 0..<plane {
                let yv = (vals[i] - mu) * (vals[i] - mu) / (4 * (v + Double(lambda))) + 0.5
                att[p * plane + i] = 1 / (1 + exp(-yv))
            }
        }
        var spatial = [Bool](repeating: true, count: s.batch * s.joints)
        for n in 0..<s.batch { for v in 0..<s.joints {
            var acc = 0.0
            for c in 0..<s.channels { for t in 0..<s.frames { acc += att[((c * s.batch + n) * s.frames + t) * s.joints + v] } }
            spatial[n * s.joints + v] = acc / Double(s.channels * s.frames) < Double(tau)
        } }
        let element = att.map { $0 < Double(tau) }
        let f1 = Float(s.batch * s.joints) / Float(spatial.filter { $0 }.count)
        let f2 = Float(s.count) / Float(element.filter { $0 }.count)
        var want = [Float](repeating: 0, count: s.count)
        for i in 0..<s.count {
            let n = (i / plane) % s.batch, v = i % s.joints
            if spatial[n * s.joints + v] && element[i] { want[i] = f1 * f2 }
        }
        XCTAssertEqual(Set(spatial.indices.filter { !spatial[$0] }), loud, "spatially dropped joints")
        let got = dev.read(scale)
        XCTAssertEqual(got.map { $0 != 0 }, want.map { $0 != 0 }, "EADM mask")
        expectClose(got, want, abs: 0, rel: 1e-6, "EADM scale")
        XCTAssertGreaterThan(element.filter { !$0 }.count, 0, "some elements dropped by the element mask")
        expectClose(dev.read(y), zip(xv, got).map { $0 * $1 }, abs: 0, rel: 1e-6, "EADM output")

        // noOp: all-ones scale, y = x; in place (y === x) also works.
        dev.eadmForward(x: x, shape: s, threshold: tau, lambda: lambda, noOp: true, scale: scale, y: y)
        XCTAssertEqual(dev.read(scale), [Float](repeating: 1, count: s.count))
        XCTAssertEqual(dev.read(y), xv)
        dev.eadmForward(x: x, shape: s, threshold: tau, lambda: lambda, noOp: false, scale: scale, y: x)
        expectClose(dev.read(x), zip(xv, got).map { $0 * $1 }, abs: 0, rel: 1e-6, "EADM in place")
    }
}
