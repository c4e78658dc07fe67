// exp(x − shift) and its sum for the softmax of the cross-entropy losses, see cpu_kernels.h.
//
// The losses evaluate two exponentials per logit (128 × 32,769 per call); libm's scalar expf
// dominated them. The AVX-512 path uses the 16-lane polynomial of `exp16.h` and sums in Double
// on 8 + 8 lanes (a fixed order); the AVX2 path uses `exp8.h` on two 8-lane halves of each 16
// elements and keeps the same 16 Double partial sums and the same final reduction, so both give
// the same sum.
#include "cpu_kernels.h"
#include "exp16.h"
#include "exp8.h"
#include <math.h>

__attribute__((target("avx512f")))
static double exp_sum_avx512(const float *x, long n, float shift, float *e) {
    const __m512 s = _mm512_set1_ps(shift);
    // Below ln(FLT_MIN) the polynomial's clamped argument would give a tiny non-zero value: 0 there,
    // which also makes exp(−∞) exactly 0.
    const __m512 floor = _mm512_set1_ps(-87.3365447505531f);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    __mmask16 unordered = 0;
    for (long i = 0; i < n; i += 16) {
        const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + i), s);
        const __mmask16 nan = _mm512_mask_cmp_ps_mask(lanes, v, v, _CMP_UNORD_Q);
        const __mmask16 live = _mm512_mask_cmp_ps_mask(lanes, v, floor, _CMP_GE_OQ);
        __m512 r = _mm512_maskz_mov_ps(live, exp16(v));
        r = _mm512_mask_mov_ps(r, nan, v);
        unordered |= nan;
        if (e) _mm512_mask_storeu_ps(e + i, lanes, r);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(r)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1))));
    }
    if (unordered) return NAN;
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

/// Lanes [0, count) set (count ≤ 8 may be ≤ 0).
__attribute__((target("avx2")))
static inline __m256i first_lanes8(long count) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count < 0 ? 0 : count > 8 ? 8 : count)), index);
}

/// exp(v) for v = x − shift on 8 lanes, 0 below ln(FLT_MIN), v itself where NaN; `nan` collects
/// the NaN lanes.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 exp_lanes8(__m256 v, __m256 floor, __m256 *nan) {
    const __m256 unordered = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    const __m256 live = _mm256_cmp_ps(v, floor, _CMP_GE_OQ);
    *nan = _mm256_or_ps(*nan, unordered);
    return _mm256_blendv_ps(_mm256_and_ps(live, exp8(v)), v, unordered);
}

__attribute__((target("avx2,fma")))
static double exp_sum_avx2(const float *x, long n, float shift, float *e) {
    const __m256 s = _mm256_set1_ps(shift);
    const __m256 floor = _mm256_set1_ps(-87.3365447505531f);
    // s0..s3 hold elements 16k + 0…3, 4…7, 8…11, 12…15: the AVX-512 path's two 8-Double sums.
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
    __m256 nan = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 a = exp_lanes8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s), floor, &nan);
        const __m256 b = exp_lanes8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s), floor, &nan);
        if (e) { _mm256_storeu_ps(e + i, a); _mm256_storeu_ps(e + i + 8, b); }
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
        s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(b)));
        s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)));
    }
    if (i < n) {
        // The last partial 16: masked loads (no fault past x + n), lanes past n give 0.
        const __m256i la = first_lanes8(n - i), lb = first_lanes8(n - i - 8);
        __m256 na = _mm256_setzero_ps(), nb = _mm256_setzero_ps();
        __m256 a = exp_lanes8(_mm256_sub_ps(_mm256_maskload_ps(x + i, la), s), floor, &na);
        __m256 b = exp_lanes8(_mm256_sub_ps(_mm256_maskload_ps(x + i + 8, lb), s), floor, &nb);
        a = _mm256_and_ps(a, _mm256_castsi256_ps(la));
        b = _mm256_and_ps(b, _mm256_castsi256_ps(lb));
        nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_and_ps(na, _mm256_castsi256_ps(la)),
                                             _mm256_and_ps(nb, _mm256_castsi256_ps(lb))));
        if (e) { _mm256_maskstore_ps(e + i, la, a); _mm256_maskstore_ps(e + i + 8, lb, b); }
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
        s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(b)));
        s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)));
    }
    if (_mm256_movemask_ps(nan)) return NAN;
    // The AVX-512 reduction's order: the two halves, then halves again.
    const __m256d t = _mm256_add_pd(_mm256_add_pd(s0, s2), _mm256_add_pd(s1, s3));
    const __m128d u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}

static double exp_sum_portable(const float *x, long n, float shift, float *e) {
    double s0 = 0, s1 = 0;
    long i = 0;
    for (; i + 2 <= n; i += 2) {
        const float a = expf(x[i] - shift), b = expf(x[i + 1] - shift);
        if (e) { e[i] = a; e[i + 1] = b; }
        s0 += a;
        s1 += b;
    }
    if (i < n) {
        const float a = expf(x[i] - shift);
        if (e) e[i] = a;
        s0 += a;
    }
    return s0 + s1;
}

double aimclr_exp_sum(const float *x, long n, float shift, float *e) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512: return exp_sum_avx512(x, n, shift, e);
    case AIMCLR_ISA_AVX2: return exp_sum_avx2(x, n, shift, e);
    default: return exp_sum_portable(x, n, shift, e);
    }
}
