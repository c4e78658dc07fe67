import Compute
import CPUBackend
import Foundation
import OpenCLBackend
import XCTest

/// Dropout of a rank's part of the batch (`DropoutSampleSlice`) draws the whole batch's mask
/// restricted to the part: the parts of any split, put together, equal dropout over the whole
/// tensor bit for bit, forward and backward, on the CPU and on OpenCL (which also match each
/// other). Layouts: (outer, samples, inner) with inner T·V (sample-major) and V (frame-major),
/// including inner sizes that start rows off a Philox block of four.
final class DropoutSampleSliceTests: XCTestCase {
    /// Rank part `[first, first + count)` of the samples axis of (outer, samples, inner).
    func part(_ x: [Float], outer: Int, samples: Int, inner: Int, first: Int, count: Int) -> [Float] {
        var out: [Float] = []
        for o in 0 ..< outer {
            let start = (o * samples + first) * inner, end = (o * samples + first + count) * inner
            out += x[start ..< end]
        }
        return out
    }

    func check(_ device: Device, outer: Int, samples: Int, inner: Int, splits: [[Int]], p: Float = 0.5) throws {
        var rng = TestRandom(UInt64(outer * 1000 + samples * 10 + inner))
        let x = (0 ..< outer * samples * inner).map { _ in rng.next() * 2 - 1 }
        let key = RandomKey(seed: 0xABCDEF12345, stream: 7 << 16 | 3, step: 11)
        let whole = try device.tensor(x, shape: [x.count])
        let wholeY = try device.makeTensor([x.count]), wholeDx = try device.makeTensor([x.count])
        device.dropoutForward(x: whole, p: p, key: key, y: wholeY)
        device.dropoutBackward(dy: whole, p: p, key: key, dx: wholeDx)
        let expected = device.read(wholeY), expectedDx = device.read(wholeDx)
        // A slice covering the whole batch is the unsliced op.
        let same = try device.makeTensor([x.count])
        device.dropoutForward(x: whole, p: p, key: key,
                              slice: DropoutSampleSlice(samples: samples, globalSamples: samples, offset: 0, inner: inner), y: same)
        XCTAssertEqual(device.read(same), expected, "whole-batch slice")
        for split in splits {
            var first = 0
            for count in split {
                let local = part(x, outer: outer, samples: samples, inner: inner, first: first, count: count)
                let slice = DropoutSampleSlice(samples: count, globalSamples: samples, offset: first, inner: inner)
                let t = try device.tensor(local, shape: [local.count])
                let y = try device.makeTensor([local.count]), dx = try device.makeTensor([local.count])
                device.dropoutForward(x: t, p: p, key: key, slice: slice, y: y)
                device.dropoutBackward(dy: t, p: p, key: key, slice: slice, dx: dx)
                let want = part(expected, outer: outer, samples: samples, inner: inner, first: first, count: count)
                XCTAssertEqual(device.read(y), want, "\(device.name): part \(slice) of split \(split)")
                XCTAssertEqual(device.read(dx), part(expectedDx, outer: outer, samples: samples, inner: inner,
                                                     first: first, count: count), "backward, part \(slice)")
                first += count
            }
        }
        try device.checkErrors()
        // Roughly half dropped, and the kept ones scaled by 2.
        let dropped = expected.filter { $0 == 0 }.count
        XCTAssertEqual(Double(dropped) / Double(x.count), 0.5, accuracy: 0.1)
    }

    func checkLayouts(_ device: Device) throws {
        // Sample-major (C 3, N·M 8, T·V 12·5) and frame-major (C·T 6, N·M 8, V 5), V 3 (rows off
        // the blocks of four), and uneven parts.
        try check(device, outer: 3, samples: 8, inner: 60, splits: [[4, 4], [2, 2, 2, 2], [1, 7], [3, 5]])
        try check(device, outer: 6, samples: 8, inner: 5, splits: [[4, 4], [2, 6]])
        try check(device, outer: 4, samples: 6, inner: 3, splits: [[2, 2, 2], [3, 3], [1, 1, 4]])
    }

    func testPartsOfAnySplitEqualTheWholeBatchCPU() throws {
        try checkLayouts(CPUDevice())
        try checkLayouts(CPUDevice(threads: 1))
    }

    func testPartsOfAnySplitEqualTheWholeBatchOpenCL() throws {
        try checkLayouts(try OpenCLTestDevice.get())
    }

    func testOpenCLSlicesMatchCPU() throws {
        let gpu = try OpenCLTestDevice.get(), cpu = CPUDevice()
        let x = (0 ..< 3 * 5 * 7).map { Float($0 % 11) - 5 }
        let slice = DropoutSampleSlice(samples: 5, globalSamples: 12, offset: 3, inner: 7)
        let key = RandomKey(seed: 99, stream: 5, step: 2)
        var out: [[Float]] = []
        for d in [cpu as Device, gpu] {
            let t = try d.tensor(x, shape: [x.count]), y = try d.makeTensor([x.count])
            d.dropoutForward(x: t, p: 0.3, key: key, slice: slice, y: y)
            out.append(d.read(y))
        }
        XCTAssertEqual(out[0], out[1])
    }

    func testContractRefusesSlicesOutsideTheBatch() throws {
        let d = CPUDevice()
        let t = try d.makeTensor([24]), y = try d.makeTensor([24])
        d.dropoutForward(x: t, p: 0.5, key: RandomKey(seed: 1, stream: 0, step: 0),
                         slice: DropoutSampleSlice(samples: 2, globalSamples: 4, offset: 3, inner: 3), y: y)
        XCTAssertThrowsError(try d.checkErrors())
        d.dropoutForward(x: t, p: 0.5, key: RandomKey(seed: 1, stream: 0, step: 0),
                         slice: DropoutSampleSlice(samples: 5, globalSamples: 10, offset: 0, inner: 3), y: y)
        XCTAssertThrowsError(try d.checkErrors())
    }
}
