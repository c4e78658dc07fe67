import Compute
import Foundation

/// Which view of a sample a draw is for; part of the random key.
public enum AugmentView: UInt32, Sendable, CaseIterable {
    case extreme = 0, query = 1, key = 2, single = 3
}

/// Counter-based random draws for one (seed, epoch, sample, view): the numbers depend only
/// on that key and the draw's position, never on thread count or evaluation order.
///
/// Scalar draw `n` uses Philox block (n, sample, epoch, view); Gaussian noise element `i`
/// comes from blocks in a separate counter range (2³¹ + i/2), two normals per block (Box–Muller).
public struct DrawStream: Sendable {
    public let philox: Philox4x32
    public let sample: UInt32, epoch: UInt32, view: UInt32
    public private(set) var counter: UInt32 = 0

    public init(seed: UInt64, epoch: Int, sample: Int, view: AugmentView) {
        self.init(seed: seed, epoch: epoch, sample: sample, rawView: view.rawValue)
    }

    /// A stream for purposes other than the four views (e.g. the epoch shuffle uses view 0xFFFF).
    public init(seed: UInt64, epoch: Int, sample: Int, rawView: UInt32) {
        philox = Philox4x32(seed: seed)
        self.epoch = UInt32(truncatingIfNeeded: epoch); self.sample = UInt32(truncatingIfNeeded: sample); view = rawView
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double {
        let r = philox.block(counter, sample, epoch, view)
        counter &+= 1
        return Philox4x32.unitDouble(r.0, r.1)
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// Uniform integer in lo...hi (both inclusive).
    public mutating func int(_ lo: Int, _ hi: Int) -> Int {
        min(hi, lo + Int(uniform() * Double(hi - lo + 1)))
    }

    /// `count` i.i.d. N(0, std²) values.
    public func normals(count: Int, std: Double) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        var i = 0
        while i < count {
            let r = philox.block(0x8000_0000 &+ UInt32(truncatingIfNeeded: i / 2), sample, epoch, view)
            let u1 = 1 - Philox4x32.unitDouble(r.0, r.1) // (0, 1]
            let u2 = Philox4x32.unitDouble(r.2, r.3)
            let rad = (-2 * log(u1)).squareRoot()
            out[i] = std * rad * cos(2 * Double.pi * u2)
            if i + 1 < count { out[i + 1] = std * rad * sin(2 * Double.pi * u2) }
            i += 2
        }
        return out
    }
}

/// Hyper-parameters of the two augmentation chains (reference defaults).
public struct AugmentationConfig: Sendable, Equatable {
    public var paddingRatio = 6
    public var shearAmplitude = 0.5
    /// Extreme ops as the reference's `aug_method` digits: 1 flip, 2 rotate, 3 noise, 4 blur, 5 axis mask, 6 time flip.
    public var extremeOps = "12345"
    /// Insert the temporal flip (p = 0.5) after rotate, as the December 2021 code did.
    public var extremeTimeFlip = false
    public var flipProbability = 0.5
    public var timeFlipProbability = 0.5
    public var noiseProbability = 0.5
    public var noiseStd = 0.01
    public var blurProbability = 0.5
    public var blurSigma: ClosedRange<Double> = 0.1...2
    public var maskProbability = 0.5
    public var rotateMainDegrees = 30.0
    public var rotateOtherDegrees = 1.0
    /// Left/right joint permutation for the spatial flip.
    public var flipPermutation = SkeletonLayout.ntuRGBD.flip
    public init() {}
}

/// Parameters of the normal chain: temporal crop, then shear.
public struct NormalAugmentation: Sendable, Equatable {
    public var cropStart: Int
    public var shearA: [Double]
    public var shearB: [Double]

    public init(cropStart: Int, shearA: [Double], shearB: [Double]) {
        self.cropStart = cropStart; self.shearA = shearA; self.shearB = shearB
    }

    /// Draws crop start ~ U{0…2·pad}, then a₀, a₁, a₂, b₀, b₁, b₂ ~ U(−r, r), the reference's order.
    public static func draw(_ s: inout DrawStream, frames: Int, config: AugmentationConfig) -> NormalAugmentation {
        let pad = frames / config.paddingRatio
        let start = s.int(0, 2 * pad)
        let r = config.shearAmplitude
        let a = (0..<3).map { _ in s.uniform(-r, r) }
        let b = (0..<3).map { _ in s.uniform(-r, r) }
        return NormalAugmentation(cropStart: start, shearA: a, shearB: b)
    }

    public func apply(_ x: SkeletonClip, config: AugmentationConfig = AugmentationConfig()) -> SkeletonClip {
        Augment.shear(Augment.temporalCrop(x, start: cropStart, paddingRatio: config.paddingRatio), a: shearA, b: shearB)
    }
}

/// Parameters of the extreme chain: crop, shear, then each enabled op with its own coin flip, in
/// the reference order flip, rotate, [time flip], noise, blur, axis mask.
public struct ExtremeAugmentation: Sendable, Equatable {
    public var normal: NormalAugmentation
    public var flip = false
    public var rotateDegrees: [Double]? = nil
    public var timeFlip = false
    /// Noise to add, or nil when the gate skipped it.
    public var noise: [Double]? = nil
    /// σ of the blur, or nil when the gate skipped it.
    public var blurSigma: Double? = nil
    public var maskAxis: Int? = nil

    public init(normal: NormalAugmentation, flip: Bool = false, rotateDegrees: [Double]? = nil, timeFlip: Bool = false,
                noise: [Double]? = nil, blurSigma: Double? = nil, maskAxis: Int? = nil) {
        self.normal = normal; self.flip = flip; self.rotateDegrees = rotateDegrees; self.timeFlip = timeFlip
        self.noise = noise; self.blurSigma = blurSigma; self.maskAxis = maskAxis
    }

    /// Draws every parameter in the reference's call order; every draw is made whether or not
    /// its gate fires (σ of the blur is drawn every time, as in the reference).
    public static func draw(_ s: inout DrawStream, frames: Int, joints: Int, bodies: Int,
                            config: AugmentationConfig) -> ExtremeAugmentation {
        var p = ExtremeAugmentation(normal: NormalAugmentation.draw(&s, frames: frames, config: config))
        var ops = Array(config.extremeOps)
        if config.extremeTimeFlip, !ops.contains("6") {
            if let r = ops.firstIndex(of: "2") { ops.insert("6", at: r + 1) } else { ops.insert("6", at: 0) }
        }
        for op in ops {
            switch op {
            case "1": p.flip = s.uniform() < config.flipProbability
            case "2":
                let main = s.int(0, 2)
                p.rotateDegrees = (0..<3).map { $0 == main ? s.uniform(0, config.rotateMainDegrees) : s.uniform(0, config.rotateOtherDegrees) }
            case "6": p.timeFlip = s.uniform() < config.timeFlipProbability
            case "3":
                if s.uniform() < config.noiseProbability {
                    p.noise = s.normals(count: 3 * frames * joints * bodies, std: config.noiseStd)
                }
            case "4":
                let sigma = s.uniform(config.blurSigma.lowerBound, config.blurSigma.upperBound)
                if s.uniform() < config.blurProbability { p.blurSigma = sigma }
            case "5":
                let gate = s.uniform() < config.maskProbability
                let axis = s.int(0, 2)
                if gate { p.maskAxis = axis }
            default: continue
            }
        }
        return p
    }

    public func apply(_ x: SkeletonClip, config: AugmentationConfig = AugmentationConfig()) -> SkeletonClip {
        var y = normal.apply(x, config: config)
        if flip { y = Augment.spatialFlip(y, permutation: config.flipPermutation) }
        if let d = rotateDegrees { y = Augment.rotate(y, degrees: d) }
        if timeFlip { y = Augment.timeFlip(y) }
        if let n = noise { y = Augment.addNoise(y, noise: n) }
        if let s = blurSigma { y = Augment.gaussianBlur(y, sigma: s) }
        if let a = maskAxis { y = Augment.axisMask(y, axis: a) }
        return y
    }
}

/// The three views AimCLR pre-trains on, drawn independently per (seed, epoch, sample).
public struct AugmentationDraws: Sendable {
    public var seed: UInt64
    public var config: AugmentationConfig

    public init(seed: UInt64, config: AugmentationConfig = AugmentationConfig()) {
        self.seed = seed; self.config = config
    }

    /// (extreme, query, key) views of `x` for `sample` in `epoch`.
    public func views(_ x: SkeletonClip, epoch: Int, sample: Int) -> (extreme: SkeletonClip, query: SkeletonClip, key: SkeletonClip) {
        var se = DrawStream(seed: seed, epoch: epoch, sample: sample, view: .extreme)
        var sq = DrawStream(seed: seed, epoch: epoch, sample: sample, view: .query)
        var sk = DrawStream(seed: seed, epoch: epoch, sample: sample, view: .key)
        let e = ExtremeAugmentation.draw(&se, frames: x.frames, joints: x.joints, bodies: x.bodies, config: config)
        let q = NormalAugmentation.draw(&sq, frames: x.frames, config: config)
        let k = NormalAugmentation.draw(&sk, frames: x.frames, config: config)
        return (e.apply(x, config: config), q.apply(x, config: config), k.apply(x, config: config))
    }

    /// One crop + shear view (the single-view feeder used by semi-supervised training).
    public func single(_ x: SkeletonClip, epoch: Int, sample: Int) -> SkeletonClip {
        var s = DrawStream(seed: seed, epoch: epoch, sample: sample, view: .single)
        return NormalAugmentation.draw(&s, frames: x.frames, config: config).apply(x, config: config)
    }
}
