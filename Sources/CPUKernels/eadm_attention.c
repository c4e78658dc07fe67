// EADM's per-plane SimAM attention (spec §2.6), see cpu_kernels.h.
//
// One sigmoid per activation element (21 M of them per view for the widest layer): libm's
// scalar expf made this the slowest elementwise op. The AVX-512 path evaluates exp with a
// Cephes-style polynomial (about 1 ulp) on 16 lanes; the statistics stay in Double.
#include "cpu_kernels.h"
#include "exp16.h"
#include <math.h>

__attribute__((target("avx512f")))
static long attention_avx512(const float *f, long n, float mean, float inv4, float threshold, float *att) {
    const __m512 m = _mm512_set1_ps(mean), k = _mm512_set1_ps(inv4), half = _mm512_set1_ps(0.5f);
    const __m512 one = _mm512_set1_ps(1.0f), cut = _mm512_set1_ps(threshold);
    long count = 0;
    for (long i = 0; i < n; i += 16) {
        const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, f + i), m);
        const __m512 y = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(d, d), k), half);
        const __m512 a = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), y))));
        _mm512_mask_storeu_ps(att + i, lanes, a);
        count += __builtin_popcount(_mm512_mask_cmp_ps_mask(lanes, a, cut, _CMP_LT_OQ));
    }
    return count;
}

static long attention_portable(const float *f, long n, float mean, float inv4, float threshold, float *att) {
    long count = 0;
    for (long i = 0; i < n; i++) {
        const float d = f[i] - mean;
        const float y = d * d * inv4 + 0.5f;
        const float a = 1.0f / (1.0f + expf(-y));
        att[i] = a;
        if (a < threshold) count++;
    }
    return count;
}

/// Σ(f − μ)² with the difference and the sum in Double (two-pass, as the reference computes it).
__attribute__((target("avx512f")))
static double centred_squares_avx512(const float *f, long n, double mu) {
    const __m512d m = _mm512_set1_pd(mu);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(f + i);
        const __m512d a = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), m);
        const __m512d b = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), m);
        s0 = _mm512_fmadd_pd(a, a, s0);
        s1 = _mm512_fmadd_pd(b, b, s1);
    }
    double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    for (; i < n; i++) { const double d = (double)f[i] - mu; s += d * d; }
    return s;
}

static double centred_squares_portable(const float *f, long n, double mu) {
    double s[4] = {0, 0, 0, 0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) { const double d = (double)f[i + j] - mu; s[j] += d * d; }
    for (; i < n; i++) { const double d = (double)f[i] - mu; s[0] += d * d; }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

long aimclr_eadm_attention(const float *f, long n, float lambda, float threshold, float *att) {
    const int use_avx512 = aimclr_use_avx512();
    if (n <= 0) return 0;
    const double mu = aimclr_sum(f, n) / (double)n;
    const double ss = use_avx512 ? centred_squares_avx512(f, n, mu) : centred_squares_portable(f, n, mu);
    const double varHat = n > 1 ? ss / (double)(n - 1) : 0;
    const float inv4 = (float)(1 / (4 * (varHat + (double)lambda)));
    return use_avx512 ? attention_avx512(f, n, (float)mu, inv4, threshold, att)
                      : attention_portable(f, n, (float)mu, inv4, threshold, att);
}
