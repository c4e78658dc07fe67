import Foundation

/// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
///
/// A counter-based generator: the output is a pure function of a 64-bit key and a
/// 128-bit counter, so the CPU backend, the OpenCL kernels and the data loader draw
/// identical numbers for the same (seed, stream, step, element) whatever the thread
/// count or the order of evaluation. `Kernels/random.cl` implements the same rounds.
public struct Philox4x32: Sendable {
    public var key: (UInt32, UInt32)

    public init(seed: UInt64) {
        key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// The four 32-bit outputs for a counter.
    @inline(__always)
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var c = (c0, c1, c2, c3)
        var k = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c.0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0,
                 UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1,
                 UInt32(truncatingIfNeeded: p0))
            k = (k.0 &+ 0x9E37_79B9, k.1 &+ 0xBB67_AE85)
        }
        return c
    }

    /// Maps 32 random bits to a float in [0, 1) with 24 bits of resolution (exact in float32).
    @inline(__always)
    public static func unitFloat(_ bits: UInt32) -> Float {
        Float(bits >> 8) * (1.0 / 16_777_216.0)
    }

    /// Maps 32 random bits to a double in [0, 1) (for host-side augmentation draws).
    @inline(__always)
    public static func unitDouble(_ hi: UInt32, _ lo: UInt32) -> Double {
        let bits = (UInt64(hi) << 21) ^ UInt64(lo >> 11)
        return Double(bits & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// Identifies one random tensor draw: the same key gives the same numbers on every device.
/// Element `i` of the tensor uses output `i % 4` of the Philox block at counter
/// `(i / 4, stream, step, 0)` — stream names the tensor (e.g. a layer id), step the iteration.
public struct RandomKey: Sendable, Equatable {
    public var seed: UInt64
    public var stream: UInt32
    public var step: UInt32
    public init(seed: UInt64, stream: UInt32, step: UInt32) {
        self.seed = seed; self.stream = stream; self.step = step
    }

    /// The seed as the two 32-bit key words of Philox-4x32 (low, high), as the kernels take it.
    public var keyWords: (UInt32, UInt32) { (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    /// The uniform [0, 1) draw for element `index` (reference path; backends vectorise this).
    public func uniform(_ index: Int) -> Float {
        let r = Philox4x32(seed: seed).block(UInt32(truncatingIfNeeded: index / 4), stream, step, 0)
        switch index % 4 {
        case 0: return Philox4x32.unitFloat(r.0)
        case 1: return Philox4x32.unitFloat(r.1)
        case 2: return Philox4x32.unitFloat(r.2)
        default: return Philox4x32.unitFloat(r.3)
        }
    }
}

extension RandomKey {
    /// A standard normal draw for element `index` (Box-Muller on the Philox block of `index`,
    /// counter `(index, stream, step, 1)`), for initialisation and queue draws on the host.
    public func gaussian(_ index: Int) -> Float {
        let r = Philox4x32(seed: seed).block(UInt32(truncatingIfNeeded: index), stream, step,
                                             1 &+ UInt32(truncatingIfNeeded: index >> 32))
        let u1 = max(Philox4x32.unitDouble(r.0, r.1), 1e-300)
        let u2 = Philox4x32.unitDouble(r.2, r.3)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
