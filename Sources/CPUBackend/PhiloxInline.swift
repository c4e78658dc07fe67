/// Philox-4x32-10 rounds written out for the dropout loop.
///
/// Same arithmetic as `Compute.Philox4x32.block`, which cannot be inlined across the module
/// boundary; inlined here, with its state in locals, a block costs about a quarter as much.
/// The dropout tests compare every element with `RandomKey.uniform`.
@inline(__always)
func philoxBlock(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32,
                 key k0: UInt32, _ k1: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
    var x0 = c0, x1 = c1, x2 = c2, x3 = c3
    var a = k0, b = k1
    for _ in 0 ..< 10 {
        let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
        let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
        let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ x1 ^ a
        let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ x3 ^ b
        x1 = UInt32(truncatingIfNeeded: p1)
        x3 = UInt32(truncatingIfNeeded: p0)
        x0 = n0
        x2 = n2
        a &+= 0x9E37_79B9
        b &+= 0xBB67_AE85
    }
    return (x0, x1, x2, x3)
}

/// Eight Philox blocks at once, counters (c0[j], c1, c2, c3) for lane j: the same rounds as
/// `philoxBlock`, lane by lane, so the compiler can run them as vector multiplies.
/// Returns the four output words, each as one vector over the eight blocks.
@inline(__always)
func philoxBlocks8(_ c0: SIMD8<UInt32>, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32,
                   key k0: UInt32, _ k1: UInt32)
    -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
    var x0 = c0, x1 = SIMD8<UInt32>(repeating: c1)
    var x2 = SIMD8<UInt32>(repeating: c2), x3 = SIMD8<UInt32>(repeating: c3)
    var a = k0, b = k1
    let m0 = SIMD8<UInt64>(repeating: 0xD251_1F53), m1 = SIMD8<UInt64>(repeating: 0xCD9E_8D57)
    for _ in 0 ..< 10 {
        let p0 = m0 &* SIMD8<UInt64>(truncatingIfNeeded: x0)
        let p1 = m1 &* SIMD8<UInt64>(truncatingIfNeeded: x2)
        let n0 = SIMD8<UInt32>(truncatingIfNeeded: p1 &>> 32) ^ x1 ^ SIMD8<UInt32>(repeating: a)
        let n2 = SIMD8<UInt32>(truncatingIfNeeded: p0 &>> 32) ^ x3 ^ SIMD8<UInt32>(repeating: b)
        x1 = SIMD8<UInt32>(truncatingIfNeeded: p1)
        x3 = SIMD8<UInt32>(truncatingIfNeeded: p0)
        x0 = n0
        x2 = n2
        a &+= 0x9E37_79B9
        b &+= 0xBB67_AE85
    }
    return (x0, x1, x2, x3)
}
