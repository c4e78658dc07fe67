import Foundation
import XCTest
@testable import Skeleton

final class AugmentTests: XCTestCase {
    private func input() throws -> SkeletonClip {
        let a = try NpyArray.read(try Fixtures.path("ntu/expected/augment/input.npy"), expecting: .float32)
        XCTAssertEqual(a.shape, [3, 50, 25, 2])
        return SkeletonClip(frames: 50, joints: 25, bodies: 2, floats: a.floats())
    }
    private func expected(_ name: String) throws -> NpyArray {
        try NpyArray.read(try Fixtures.path("ntu/expected/augment/\(name).npy"))
    }
    private func params(_ name: String) throws -> [String: Any] {
        (try Fixtures.json("ntu/expected/augment/\(name).json") as! [String: Any])["params"] as! [String: Any]
    }
    /// Exact for float32 cases; abs 1e-12 for float64 cases.
    private func check(_ got: SkeletonClip, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let want = try expected(name)
        XCTAssertEqual(want.shape, got.shape, file: file, line: line)
        if want.dtype == .float32 {
            XCTAssertTrue(got.floats == want.floats(), "\(name): max diff \(maxAbsDiff(got.floats, want.floats()))", file: file, line: line)
        } else {
            XCTAssertLessThanOrEqual(maxAbsDiff(got.values, want.doubles()), 1e-12, name, file: file, line: line)
        }
    }

    func testTemporalCropCases() throws {
        let x = try input()
        for s in [0, 13, 16] { try check(Augment.temporalCrop(x, start: s), "temporal_crop_start\(s)") }
        // padded[0..<8] = frames 7…0 and padded[58..<66] = frames 49…42.
        let ramp = SkeletonClip(frames: 50, joints: 1, bodies: 1, values: (0..<150).map { Double($0 % 50) })
        XCTAssertEqual(Array(Augment.temporalCrop(ramp, start: 0).values[0..<8]), [7, 6, 5, 4, 3, 2, 1, 0])
        XCTAssertEqual(Array(Augment.temporalCrop(ramp, start: 16).values[42..<50]), [49, 48, 47, 46, 45, 44, 43, 42])
        XCTAssertEqual(Array(Augment.temporalCrop(ramp, start: 13).values[0..<3]), [5, 6, 7])
    }

    func testShearRotateFlipsMasks() throws {
        let x = try input()
        let sp = try params("shear")
        try check(Augment.shear(x, a: sp["s1_list_a"] as! [Double], b: sp["s2_list_b"] as! [Double]), "shear")
        let rp = try params("rotate")
        try check(Augment.rotate(x, degrees: [rp["angle_deg_x"], rp["angle_deg_y"], rp["angle_deg_z"]].map { $0 as! Double }), "rotate")
        try check(Augment.spatialFlip(x), "spatial_flip")
        XCTAssertEqual(Augment.spatialFlip(Augment.spatialFlip(x)), x, "flip is an involution")
        try check(Augment.timeFlip(x), "time_flip")
        for a in 0..<3 { try check(Augment.axisMask(x, axis: a), "axis_mask_axis\(a)") }
        // Shear of e_x is (1, a1, a2).
        let ex = SkeletonClip(frames: 1, joints: 1, bodies: 1, values: [1, 0, 0])
        XCTAssertEqual(Augment.shear(ex, a: [0.3, -0.2, 0.1], b: [0.4, 0.5, 0.6]).values, [1, -0.2, 0.1])
    }

    func testNoiseAndBlur() throws {
        let x = try input()
        try check(Augment.addNoise(x, noise: try expected("gaus_noise_noise").doubles()), "gaus_noise")
        try check(Augment.gaussianBlur(x, sigma: 0.5), "gaus_blur_sigma0.5")
        try check(Augment.gaussianBlur(x, sigma: 2.0), "gaus_blur_sigma2.0")
        // Kernel matches the listed taps; a constant 1 gives Σw = 5.0125 inside, rolled off over 7 frames at each end.
        let taps = (try params("gaus_blur_sigma2.0"))["kernel_taps_k_minus7_to_7"] as! [Double]
        XCTAssertLessThanOrEqual(maxAbsDiff(Augment.blurKernel(sigma: 2), taps), 1e-15)
        let ones = SkeletonClip(frames: 50, joints: 1, bodies: 1, values: [Double](repeating: 1, count: 150))
        let b = Augment.gaussianBlur(ones, sigma: 2).values
        XCTAssertEqual(b[25], 5.012497468344047, accuracy: 1e-12)
        XCTAssertEqual(b[7], 5.012497468344047, accuracy: 1e-12)
        XCTAssertLessThan(b[6], b[7]); XCTAssertLessThan(b[0], b[1])
        XCTAssertEqual(b[0], taps[7...].reduce(0, +), accuracy: 1e-12)
    }

    func testComposedChainsMatchScriptedReference() throws {
        let x = try input()
        let n = try params("normal_aug_crop_shear")
        let normal = NormalAugmentation(cropStart: n["frame_start"] as! Int, shearA: n["s1_list_a"] as! [Double], shearB: n["s2_list_b"] as! [Double])
        try check(normal.apply(x), "normal_aug_crop_shear")
        let s = try params("strong_aug_composed")
        let e = ExtremeAugmentation(
            normal: NormalAugmentation(cropStart: s["frame_start"] as! Int, shearA: s["s1_list_a"] as! [Double], shearB: s["s2_list_b"] as! [Double]),
            flip: s["spatial_flip"] as! Bool, rotateDegrees: s["rotate_deg_xyz"] as? [Double], noise: nil,
            blurSigma: s["blur_sigma"] as? Double, maskAxis: s["axis_mask"] as? Int)
        XCTAssertEqual(e.rotateDegrees, [20, 0.4, 0.9]); XCTAssertEqual(e.maskAxis, 1)
        try check(e.apply(x), "strong_aug_composed")
    }

    func testDrawsAreKeyedAndIndependentOfOrder() {
        let d = AugmentationDraws(seed: 7)
        let x = SkeletonClip(frames: 50, joints: 25, bodies: 2, values: (0..<7500).map { sin(Double($0)) })
        let a = d.views(x, epoch: 3, sample: 11), b = d.views(x, epoch: 3, sample: 11)
        XCTAssertEqual(a.extreme, b.extreme); XCTAssertEqual(a.query, b.query); XCTAssertEqual(a.key, b.key)
        XCTAssertNotEqual(a.query, a.key)
        XCTAssertNotEqual(d.views(x, epoch: 4, sample: 11).query, a.query)
        XCTAssertNotEqual(AugmentationDraws(seed: 8).views(x, epoch: 3, sample: 11).query, a.query)
        XCTAssertEqual(a.extreme.shape, [3, 50, 25, 2])
        // Concurrent evaluation gives the same views.
        final class Results: @unchecked Sendable { var clips = [SkeletonClip?](repeating: nil, count: 8); let lock = NSLock() }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let v = d.views(x, epoch: 3, sample: 11 + 7 - i).extreme // reverse order on purpose
            results.lock.lock(); results.clips[7 - i] = v; results.lock.unlock()
        }
        for i in [0, 5] { XCTAssertEqual(results.clips[i], d.views(x, epoch: 3, sample: 11 + i).extreme) }
    }

    func testDrawStatistics() {
        let config = AugmentationConfig()
        let n = 4000
        var crop = [Int](repeating: 0, count: 17)
        var flips = 0, noise = 0, blur = 0, masks = 0, axes = [0, 0, 0], maskAxes = [0, 0, 0]
        var shearMin = 1.0, shearMax = -1.0, sigmaMin = 9.0, sigmaMax = 0.0
        var noiseSum = 0.0, noiseSq = 0.0, noiseCount = 0
        for i in 0..<n {
            var s = DrawStream(seed: 42, epoch: 1, sample: i, view: .extreme)
            let p = ExtremeAugmentation.draw(&s, frames: 50, joints: 25, bodies: 2, config: config)
            crop[p.normal.cropStart] += 1
            for v in p.normal.shearA + p.normal.shearB { shearMin = min(shearMin, v); shearMax = max(shearMax, v) }
            if p.flip { flips += 1 }
            let r = p.rotateDegrees!
            let main = r.firstIndex { $0 > 1 } ?? -1
            if main >= 0 { axes[main] += 1 }
            XCTAssertTrue(r.allSatisfy { $0 >= 0 && $0 < 30 }); XCTAssertLessThanOrEqual(r.filter { $0 > 1 }.count, 1)
            if let z = p.noise {
                noise += 1
                if noiseCount < 200_000 { for v in z { noiseSum += v; noiseSq += v * v }; noiseCount += z.count }
            }
            if let sg = p.blurSigma { blur += 1; sigmaMin = min(sigmaMin, sg); sigmaMax = max(sigmaMax, sg) }
            if let a = p.maskAxis { masks += 1; maskAxes[a] += 1 }
            XCTAssertFalse(p.timeFlip)
        }
        // 4-sigma binomial bounds.
        func near(_ count: Int, _ p: Double, _ total: Int, _ what: String) {
            let sd = (Double(total) * p * (1 - p)).squareRoot()
            XCTAssertLessThan(abs(Double(count) - Double(total) * p), 4 * sd, "\(what): \(count) of \(total)")
        }
        for c in crop { near(c, 1.0 / 17, n, "crop start") }
        near(flips, 0.5, n, "flip"); near(noise, 0.5, n, "noise"); near(blur, 0.5, n, "blur"); near(masks, 0.5, n, "mask")
        // A main-axis angle below 1° is misread as "no main axis" ~1/30 of the time; count only clear cases.
        for a in axes { near(a, 1.0 / 3 * 29 / 30, n, "rotate axis") }
        for a in maskAxes { near(a, 1.0 / 3, masks, "mask axis") }
        XCTAssertGreaterThanOrEqual(shearMin, -0.5); XCTAssertLessThan(shearMax, 0.5); XCTAssertLessThan(shearMin, -0.49); XCTAssertGreaterThan(shearMax, 0.49)
        XCTAssertGreaterThanOrEqual(sigmaMin, 0.1); XCTAssertLessThan(sigmaMax, 2); XCTAssertLessThan(sigmaMin, 0.12)
        let mean = noiseSum / Double(noiseCount), std = (noiseSq / Double(noiseCount) - mean * mean).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 1e-4); XCTAssertEqual(std, 0.01, accuracy: 2e-4)

        var tf = AugmentationConfig(); tf.extremeTimeFlip = true
        var flipsT = 0
        for i in 0..<2000 {
            var s = DrawStream(seed: 1, epoch: 0, sample: i, view: .extreme)
            if ExtremeAugmentation.draw(&s, frames: 50, joints: 25, bodies: 2, config: tf).timeFlip { flipsT += 1 }
        }
        near(flipsT, 0.5, 2000, "time flip")
    }
}
