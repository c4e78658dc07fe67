// exp(x − shift) and its sum for the softmax of the cross-entropy losses, see cpu_kernels.h.
//
// The losses evaluate two exponentials per logit (128 × 32,769 per call); libm's scalar expf
// dominated them. The AVX-512 path uses the 16-lane polynomial of `exp16.h` and sums in Double
// on 8 + 8 lanes (a fixed order).
#include "cpu_kernels.h"
#include "exp16.h"
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

double aimclr_exp_sum(const float *x, long n, float shift, float *e) {
    if (aimclr_use_avx512()) return exp_sum_avx512(x, n, shift, e);
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
