// Dropout masks from Philox-4x32-10 on 16 lanes (AVX-512F + BMI2) or 8 lanes (AVX2 + BMI2),
// see cpu_kernels.h.
//
// Lane j of a group computes block b0 + j (counter (b0 + j, stream, step, 0)); its four output
// words decide elements 4(b0 + j) … 4(b0 + j) + 3, exactly as the scalar and OpenCL Philox do,
// so masks are bit-identical across paths and devices. Without a vector path nothing is done
// here: the caller runs the scalar Philox.
#include "cpu_kernels.h"
#include <immintrin.h>
#include <string.h>

/// Per 32-bit lane: hi and lo words of x·m (m < 2³²).
__attribute__((target("avx512f")))
static inline void mul_hi_lo(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    const __m512i even = _mm512_mul_epu32(x, m);                                   // lanes 0, 2, …
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);             // lanes 1, 3, …
    *hi = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(even, 32), odd);
    *lo = _mm512_mullo_epi32(x, m);
}

__attribute__((target("avx512f,bmi2")))
static long dropout_avx512(long blockBegin, long blockEnd, unsigned stream, unsigned step, unsigned key0,
                           unsigned key1, unsigned cut, float scale, const float *x, float *y,
                           unsigned char *mask) {
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = _mm512_set1_epi32((int)0xD2511F53), m1 = _mm512_set1_epi32((int)0xCD9E8D57);
    const __m512i cuts = _mm512_set1_epi32((int)cut);
    const __m512 s = _mm512_set1_ps(scale);
    long b0 = blockBegin;
    for (; b0 + 16 <= blockEnd; b0 += 16) {
        __m512i x0 = _mm512_add_epi32(_mm512_set1_epi32((int)(unsigned)b0), lanes);
        __m512i x1 = _mm512_set1_epi32((int)stream), x2 = _mm512_set1_epi32((int)step), x3 = _mm512_setzero_si512();
        unsigned a = key0, b = key1;
        for (int round = 0; round < 10; round++) {
            __m512i hi0, lo0, hi1, lo1;
            mul_hi_lo(x0, m0, &hi0, &lo0);
            mul_hi_lo(x2, m1, &hi1, &lo1);
            const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32((int)a));
            const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32((int)b));
            x1 = lo1;
            x3 = lo0;
            x0 = n0;
            x2 = n2;
            a += 0x9E3779B9u;
            b += 0xBB67AE85u;
        }
        // Word j of lane l keeps element 4l + j when (word >> 8) ≥ cut.
        const unsigned long k0 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(x0, 8), cuts);
        const unsigned long k1 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(x1, 8), cuts);
        const unsigned long k2 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(x2, 8), cuts);
        const unsigned long k3 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(x3, 8), cuts);
        const unsigned long long keep = _pdep_u64(k0, 0x1111111111111111ull) | _pdep_u64(k1, 0x2222222222222222ull)
                                      | _pdep_u64(k2, 0x4444444444444444ull) | _pdep_u64(k3, 0x8888888888888888ull);
        const long e = 4 * b0;
        for (int q = 0; q < 4; q++) {
            const __mmask16 m = (__mmask16)(keep >> (16 * q));
            _mm512_storeu_ps(y + e + 16 * q, _mm512_maskz_mul_ps(m, _mm512_loadu_ps(x + e + 16 * q), s));
        }
        if (mask)
            for (int l = 0; l < 16; l++) mask[b0 + l] = (unsigned char)((keep >> (4 * l)) & 0xF);
    }
    return b0;
}

/// Per 32-bit lane: hi and lo words of x·m (m < 2³²). The lo words come from the same two
/// 64-bit products as the hi words (a shift and a blend), cheaper than vpmulld.
__attribute__((target("avx2")))
static inline void mul_hi_lo8(__m256i x, __m256i m, __m256i *hi, __m256i *lo) {
    const __m256i even = _mm256_mul_epu32(x, m);                                   // lanes 0, 2, …
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);             // lanes 1, 3, …
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

__attribute__((target("avx2,bmi2")))
static long dropout_avx2(long blockBegin, long blockEnd, unsigned stream, unsigned step, unsigned key0,
                         unsigned key1, unsigned cut, float scale, const float *x, float *y, unsigned char *mask) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53), m1 = _mm256_set1_epi32((int)0xCD9E8D57);
    // (word >> 8) < 2²⁴, so a cut above 2²⁴ drops as 2²⁴ does and the signed compare is exact.
    const __m256i cuts = _mm256_set1_epi32((int)(cut > 0x1000000u ? 0x1000000u : cut));
    const __m256 s = _mm256_set1_ps(scale);
    long b0 = blockBegin;
    for (; b0 + 8 <= blockEnd; b0 += 8) {
        __m256i x0 = _mm256_add_epi32(_mm256_set1_epi32((int)(unsigned)b0), lanes);
        __m256i x1 = _mm256_set1_epi32((int)stream), x2 = _mm256_set1_epi32((int)step), x3 = _mm256_setzero_si256();
        unsigned a = key0, b = key1;
        for (int round = 0; round < 10; round++) {
            __m256i hi0, lo0, hi1, lo1;
            mul_hi_lo8(x0, m0, &hi0, &lo0);
            mul_hi_lo8(x2, m1, &hi1, &lo1);
            const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)a));
            const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)b));
            x1 = lo1;
            x3 = lo0;
            x0 = n0;
            x2 = n2;
            a += 0x9E3779B9u;
            b += 0xBB67AE85u;
        }
        // Word j of lane l drops element 4l + j when (word >> 8) < cut (all ones).
        const __m256i d0 = _mm256_cmpgt_epi32(cuts, _mm256_srli_epi32(x0, 8));
        const __m256i d1 = _mm256_cmpgt_epi32(cuts, _mm256_srli_epi32(x1, 8));
        const __m256i d2 = _mm256_cmpgt_epi32(cuts, _mm256_srli_epi32(x2, 8));
        const __m256i d3 = _mm256_cmpgt_epi32(cuts, _mm256_srli_epi32(x3, 8));
        // Transpose to element order: e_k holds blocks 2k, 2k + 1 (elements 8k … 8k + 7).
        const __m256i t0 = _mm256_unpacklo_epi32(d0, d1), t1 = _mm256_unpackhi_epi32(d0, d1);
        const __m256i t2 = _mm256_unpacklo_epi32(d2, d3), t3 = _mm256_unpackhi_epi32(d2, d3);
        const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);   // blocks 0|4, 1|5
        const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);   // blocks 2|6, 3|7
        const __m256i e[4] = {_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
                              _mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31)};
        const long el = 4 * b0;
        for (int q = 0; q < 4; q++)
            _mm256_storeu_ps(y + el + 8 * q, _mm256_andnot_ps(_mm256_castsi256_ps(e[q]),
                                                              _mm256_mul_ps(_mm256_loadu_ps(x + el + 8 * q), s)));
        if (mask) {
            // Bit 4l + j of keep: element 4l + j kept; then one nibble per mask byte.
            const unsigned keep = ~(_pdep_u32((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(d0)), 0x11111111u)
                                  | _pdep_u32((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(d1)), 0x22222222u)
                                  | _pdep_u32((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(d2)), 0x44444444u)
                                  | _pdep_u32((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(d3)), 0x88888888u));
            const unsigned long long bytes = _pdep_u64(keep, 0x0F0F0F0F0F0F0F0Full);
            memcpy(mask + b0, &bytes, 8);
        }
    }
    return b0;
}

long aimclr_dropout_philox(long blockBegin, long blockEnd, unsigned stream, unsigned step, unsigned key0,
                           unsigned key1, unsigned cut, float scale, const float *x, float *y,
                           unsigned char *mask) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512: return dropout_avx512(blockBegin, blockEnd, stream, step, key0, key1, cut, scale, x, y, mask);
    case AIMCLR_ISA_AVX2: return dropout_avx2(blockBegin, blockEnd, stream, step, key0, key1, cut, scale, x, y, mask);
    default: return blockBegin;
    }
}
