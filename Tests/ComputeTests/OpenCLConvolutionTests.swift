import Compute
import Foundation
import OpenCLBackend
import XCTest

/// Convolutions at ST-GCN shapes. Forward outputs are checked against a naive double-precision
/// reference on a sample of elements; backward passes through the adjoint identities
/// ⟨dy, y⟩ = ⟨dx, x⟩ + ⟨db, b⟩ = ⟨dW, W⟩ + ⟨db, b⟩ (each op is linear in x, W and b), plus an
/// elementwise check that `accumulate` adds exactly the overwrite result.
final class OpenCLConvolutionTests: XCTestCase {
    /// Indices of `count` elements spread over an array (always including both ends).
    private func sample(_ count: Int, _ n: Int) -> [Int] {
        n <= count ? Array(0..<n) : (0..<count).map { $0 * (n - 1) / (count - 1) }
    }

    private func checkSampled(_ got: [Float], _ want: (Int) -> Double, abs: Float, rel: Float, _ what: String) {
        let idx = sample(400, got.count)
        expectClose(idx.map { got[$0] }, idx.map { Float(want($0)) }, abs: abs, rel: rel, what)
    }

    func testTemporalConvStride1And2() throws {
        let dev = try OpenCLTestDevice.get()
        try runTemporal(dev, ActivationShape(channels: 16, batch: 4, frames: 50, joints: 25), cout: 16, kt: 9, stride: 1)
        try runTemporal(dev, ActivationShape(channels: 16, batch: 4, frames: 50, joints: 25), cout: 32, kt: 9, stride: 2)
        // Block-10 width at T = 13.
        try runTemporal(dev, ActivationShape(channels: 256, batch: 2, frames: 13, joints: 25), cout: 256, kt: 9, stride: 1)
    }

    private func runTemporal(_ dev: OpenCLDevice, _ s: ActivationShape, cout: Int, kt: Int, stride: Int) throws {
        var rng = TestRandom(UInt64(11 + s.channels + stride))
        let pad = (kt - 1) / 2, tout = (s.frames + 2 * pad - kt) / stride + 1
        let q = s.batch * tout * s.joints
        let xv = rng.values(s.count), wv = rng.values(cout * s.channels * kt, -0.1, 0.1), bv = rng.values(cout)
        let x = try dev.tensor(xv, shape: s.dims), w = try dev.tensor(wv, shape: [cout, s.channels, kt, 1])
        let b = try dev.tensor(bv, shape: [cout])
        let cols = try dev.makeTensor([s.channels * kt, q]), y = try dev.makeTensor([cout, s.batch, tout, s.joints])
        dev.temporalConvForward(x: x, input: s, kernel: kt, stride: stride, weight: w, bias: b, columns: cols, y: y)
        let yv = dev.read(y)
        let what = "temporalConv \(s) -> \(cout) stride \(stride)"
        checkSampled(yv, { i in
            let v = i % s.joints, to = (i / s.joints) % tout, n = (i / (s.joints * tout)) % s.batch
            let co = i / (s.joints * tout * s.batch)
            var acc = Double(bv[co])
            for ci in 0..<s.channels { for k in 0..<kt {
                let t = to * stride + k - pad
                if t >= 0 && t < s.frames {
                    let wi = (co * s.channels + ci) * kt + k
                    let xi = ((ci * s.batch + n) * s.frames + t) * s.joints + v
                    acc += Double(wv[wi]) * Double(xv[xi])
                }
            } }
            return acc
        }, abs: 1e-4, rel: 1e-4, what + " forward")

        let dyv = rng.values(yv.count)
        let dy = try dev.tensor(dyv, shape: y.shape)
        let dx = try dev.makeTensor(s.dims), dw = try dev.makeTensor(w.shape), db = try dev.makeTensor([cout])
        dev.temporalConvBackward(x: x, input: s, kernel: kt, stride: stride, weight: w, columns: cols, dy: dy,
                                 dx: dx, accumulate: false, dWeight: dw, dBias: db)
        let dxv = dev.read(dx), dwv = dev.read(dw), dbv = dev.read(db)
        try checkAdjoint(dev, y: yv, dy: dyv, x: xv, dx: dxv, w: wv, dw: dwv, b: bv, db: dbv, what)
        // accumulate = true adds onto dx.
        let base = rng.values(s.count)
        dev.upload(base.withUnsafeBufferPointer { $0 }, to: dx)
        dev.temporalConvBackward(x: x, input: s, kernel: kt, stride: stride, weight: w, columns: cols, dy: dy,
                                 dx: dx, accumulate: true, dWeight: dw, dBias: db)
        expectClose(dev.read(dx), zip(base, dxv).map { $0 + $1 }, abs: 1e-5, rel: 1e-5, what + " accumulate")
        // db is the per-channel sum of dy.
        let p = dyv.count / cout
        var channelSums = [Float](repeating: 0, count: cout)
        for c in 0..<cout {
            var sum = 0.0
            for i in (c * p)..<((c + 1) * p) { sum += Double(dyv[i]) }
            channelSums[c] = Float(sum)
        }
        expectClose(dbv, channelSums, abs: 1e-3, rel: 1e-4, what + " dBias")
    }

    private func checkAdjoint(_ dev: OpenCLDevice, y: [Float], dy: [Float], x: [Float], dx: [Float],
                              w: [Float], dw: [Float], b: [Float], db: [Float], _ what: String) throws {
        let p = dy.count / b.count
        var biasPart = 0.0
        for c in 0..<b.count { for i in 0..<p { biasPart += Double(dy[c * p + i]) * Double(b[c]) } }
        let lhs = dot(dy, y)
        let scale = absDot(dy, y) + absDot(dx, x) + absDot(dw, w)
        XCTAssertEqual(lhs, dot(dx, x) + biasPart, accuracy: 1e-5 * scale, what + ": <dy,y> vs <dx,x> + bias")
        XCTAssertEqual(lhs, dot(dw, w) + biasPart, accuracy: 1e-5 * scale, what + ": <dy,y> vs <dW,W> + bias")
        XCTAssertEqual(dot(db, b), biasPart, accuracy: 1e-5 * scale, what + ": <db,b>")
    }

    func testConv1x1Stride1And2() throws {
        let dev = try OpenCLTestDevice.get()
        try runConv1x1(dev, ActivationShape(channels: 16, batch: 4, frames: 50, joints: 25), cout: 32, stride: 2)
        try runConv1x1(dev, ActivationShape(channels: 64, batch: 2, frames: 13, joints: 25), cout: 256, stride: 1)
    }

    private func runConv1x1(_ dev: OpenCLDevice, _ s: ActivationShape, cout: Int, stride: Int) throws {
        var rng = TestRandom(UInt64(21 + stride))
        let tout = (s.frames - 1) / stride + 1
        let xv = rng.values(s.count), wv = rng.values(cout * s.channels, -0.2, 0.2), bv = rng.values(cout)
        let x = try dev.tensor(xv, shape: s.dims), w = try dev.tensor(wv, shape: [cout, s.channels, 1, 1])
        let b = try dev.tensor(bv, shape: [cout]), y = try dev.makeTensor([cout, s.batch, tout, s.joints])
        dev.conv1x1Forward(x: x, input: s, stride: stride, weight: w, bias: b, y: y)
        let yv = dev.read(y)
        let what = "conv1x1 \(s) -> \(cout) stride \(stride)"
        checkSampled(yv, { i in
            let v = i % s.joints, to = (i / s.joints) % tout, n = (i / (s.joints * tout)) % s.batch
            let co = i / (s.joints * tout * s.batch)
            var acc = Double(bv[co])
            for ci in 0..<s.channels {
                acc += Double(wv[co * s.channels + ci]) * Double(xv[((ci * s.batch + n) * s.frames + to * stride) * s.joints + v])
            }
            return acc
        }, abs: 1e-4, rel: 1e-4, what + " forward")
        let dyv = rng.values(yv.count)
        let dy = try dev.tensor(dyv, shape: y.shape)
        let dx = try dev.tensor(filledWith: .nan, shape: s.dims), dw = try dev.makeTensor(w.shape), db = try dev.makeTensor([cout])
        dev.conv1x1Backward(x: x, input: s, stride: stride, weight: w, dy: dy, dx: dx, accumulate: false, dWeight: dw, dBias: db)
        let dxv = dev.read(dx)
        try checkAdjoint(dev, y: yv, dy: dyv, x: xv, dx: dxv, w: wv, dw: dev.read(dw), b: bv, db: dev.read(db), what)
        if stride > 1 {
            // Frames skipped by the stride get exactly zero.
            for i in 0..<s.count where ((i / s.joints) % s.frames) % stride != 0 { XCTAssertEqual(dxv[i], 0, what); break }
        }
        let base = rng.values(s.count)
        dev.upload(base.withUnsafeBufferPointer { $0 }, to: dx)
        dev.conv1x1Backward(x: x, input: s, stride: stride, weight: w, dy: dy, dx: dx, accumulate: true, dWeight: dw, dBias: db)
        expectClose(dev.read(dx), zip(base, dxv).map { $0 + $1 }, abs: 1e-5, rel: 1e-5, what + " accumulate")
    }

    func testGraphConvForwardBackward() throws {
        let dev = try OpenCLTestDevice.get()
        let s = ActivationShape(channels: 16, batch: 4, frames: 13, joints: 25)
        let k = 3, cout = 32, kc = k * cout, v = s.joints
        var rng = TestRandom(31)
        let xv = rng.values(s.count), wv = rng.values(kc * s.channels, -0.2, 0.2), bv = rng.values(kc, -0.1, 0.1)
        // A sparse, normalised-looking adjacency and a non-trivial importance.
        var av = [Float](repeating: 0, count: k * v * v)
        for i in 0..<av.count where (i * 7919) % 5 == 0 { av[i] = Float(1 + i % 3) / 4 }
        let ev = rng.values(k * v * v, 0.5, 1.5)
        let x = try dev.tensor(xv, shape: s.dims), w = try dev.tensor(wv, shape: [kc, s.channels, 1, 1])
        let b = try dev.tensor(bv, shape: [kc]), a = try dev.tensor(av, shape: [k, v, v]), e = try dev.tensor(ev, shape: [k, v, v])
        let z = try dev.makeTensor([kc, s.batch, s.frames, v]), y = try dev.makeTensor([cout, s.batch, s.frames, v])
        dev.graphConvForward(x: x, input: s, weight: w, bias: b, adjacency: a, importance: e, z: z, y: y)
        let ref = Reference.graphConv(x: xv, s, w: wv, b: bv, kc: kc, a: av, e: ev, k: k)
        expectClose(dev.read(z), ref.z, abs: 1e-5, rel: 1e-4, "graphConv z")
        let yv = dev.read(y)
        expectClose(yv, ref.y, abs: 1e-4, rel: 1e-4, "graphConv y")

        let dyv = rng.values(yv.count)
        let dy = try dev.tensor(dyv, shape: y.shape)
        let dz = try dev.makeTensor(z.shape), dx = try dev.makeTensor(s.dims)
        let dw = try dev.makeTensor(w.shape), db = try dev.makeTensor([kc]), de = try dev.makeTensor([k, v, v])
        dev.graphConvBackward(x: x, input: s, weight: w, adjacency: a, importance: e, z: z, dy: dy, dz: dz, dx: dx,
                              accumulate: false, dWeight: dw, dBias: db, dImportance: de)
        let dxv = dev.read(dx), dwv = dev.read(dw), dbv = dev.read(db), dev_ = dev.read(de), dzv = dev.read(dz)
        let lhs = dot(dyv, yv), scale = absDot(dyv, yv) + absDot(dxv, xv) + absDot(dzv, ref.z)
        // y is linear in z and in E: <dy, y> = <dz, z> = <dE, E>.
        XCTAssertEqual(lhs, dot(dzv, ref.z), accuracy: 1e-5 * scale, "graphConv <dy,y> vs <dz,z>")
        XCTAssertEqual(lhs, dot(dev_, ev), accuracy: 1e-5 * scale, "graphConv <dy,y> vs <dE,E>")
        var biasPart = 0.0
        for c in 0..<kc { for i in 0..<s.plane { biasPart += Double(dzv[c * s.plane + i]) * Double(bv[c]) } }
        XCTAssertEqual(lhs, dot(dxv, xv) + biasPart, accuracy: 1e-5 * scale, "graphConv <dy,y> vs <dx,x> + bias")
        XCTAssertEqual(lhs, dot(dwv, wv) + biasPart, accuracy: 1e-5 * scale, "graphConv <dy,y> vs <dW,W> + bias")
        XCTAssertEqual(dot(dbv, bv), biasPart, accuracy: 1e-5 * scale, "graphConv <db,b>")
        // dImportance is zero where A is zero.
        for i in 0..<av.count where av[i] == 0 { XCTAssertEqual(dev_[i], 0); break }
        let base = rng.values(s.count)
        dev.upload(base.withUnsafeBufferPointer { $0 }, to: dx)
        dev.graphConvBackward(x: x, input: s, weight: w, adjacency: a, importance: e, z: z, dy: dy, dz: dz, dx: dx,
                              accumulate: true, dWeight: dw, dBias: db, dImportance: de)
        expectClose(dev.read(dx), zip(base, dxv).map { $0 + $1 }, abs: 1e-5, rel: 1e-5, "graphConv accumulate")
    }

    /// An adjacency larger than the work-group's local memory (a layout file with many joints) is a
    /// reported error naming the sizes, not a crash; the device stays usable.
    func testGraphConvBeyondLocalMemoryIsAnError() throws {
        let dev = try OpenCLTestDevice.get()
        let k = 3
        var v = 8
        while k * v * v * 4 <= dev.info.localMemoryBytes { v *= 2 }
        let s = ActivationShape(channels: 1, batch: 1, frames: 1, joints: v)
        let x = try dev.tensor([Float](repeating: 1, count: s.count), shape: s.dims)
        let w = try dev.tensor([Float](repeating: 1, count: k), shape: [k, 1, 1, 1]), b = try dev.tensor([0, 0, 0], shape: [k])
        let a = try dev.tensor([Float](repeating: 0, count: k * v * v), shape: [k, v, v])
        let e = try dev.tensor([Float](repeating: 1, count: k * v * v), shape: [k, v, v])
        let z = try dev.makeTensor([k, 1, 1, v]), y = try dev.makeTensor([1, 1, 1, v])
        dev.graphConvForward(x: x, input: s, weight: w, bias: b, adjacency: a, importance: e, z: z, y: y)
        XCTAssertThrowsError(try dev.checkErrors()) { error in
            XCTAssertTrue("\(error)".contains("adjacency needs \(k * v * v * 4) bytes of local memory"), "\(error)")
        }
        XCTAssertNoThrow(try dev.checkErrors(), "the error is reported once")
        let t = try dev.tensor([1, 2, 3], shape: [3])
        XCTAssertEqual(dev.read(t), [1, 2, 3])
    }
}
