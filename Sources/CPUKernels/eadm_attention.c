// EADM's per-plane SimAM attention (spec §2.6), see cpu_kernels.h.
//
// One sigmoid per activation element (21 M of them per view for the widest layer): libm's
// scalar expf made this the slowest elementwise op. The vector paths evaluate exp with a
// Cephes-style polynomial (about 1 ulp) on 16 lanes (AVX-512, `exp16.h`) or 8 lanes (AVX2,
// `exp8.h`, the same steps); the statistics stay in Double, summed in the same order on both.
#include "cpu_kernels.h"
#include "exp16.h"
#include "exp8.h"
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

__attribute__((target("avx2,fma"), always_inline))
static inline __m256 attention8(__m256 v, __m256 m, __m256 k) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 d = _mm256_sub_ps(v, m);
    const __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(d, d), k), _mm256_set1_ps(0.5f));
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), y))));
}

__attribute__((target("avx2,fma")))
static long attention_avx2(const float *f, long n, float mean, float inv4, float threshold, float *att) {
    const __m256 m = _mm256_set1_ps(mean), k = _mm256_set1_ps(inv4), cut = _mm256_set1_ps(threshold);
    long count = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = attention8(_mm256_loadu_ps(f + i), m, k);
        _mm256_storeu_ps(att + i, a);
        count += __builtin_popcount(_mm256_movemask_ps(_mm256_cmp_ps(a, cut, _CMP_LT_OQ)));
    }
    if (i < n) {
        // Masked load and store only for the plane's last partial vector.
        const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 a = attention8(_mm256_maskload_ps(f + i, lanes), m, k);
        _mm256_maskstore_ps(att + i, lanes, a);
        count += __builtin_popcount(_mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(a, cut, _CMP_LT_OQ),
                                                                     _mm256_castsi256_ps(lanes))));
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

/// As `centred_squares_avx512`: s0..s3 hold elements 16k + 0…3, 4…7, 8…11, 12…15 (its two
/// 8-Double sums), reduced in its order.
__attribute__((target("avx2,fma")))
static double centred_squares_avx2(const float *f, long n, double mu) {
    const __m256d m = _mm256_set1_pd(mu);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(f + i)), m);
        const __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(f + i + 4)), m);
        const __m256d c = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(f + i + 8)), m);
        const __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(f + i + 12)), m);
        s0 = _mm256_fmadd_pd(a, a, s0);
        s1 = _mm256_fmadd_pd(b, b, s1);
        s2 = _mm256_fmadd_pd(c, c, s2);
        s3 = _mm256_fmadd_pd(d, d, s3);
    }
    const __m256d t = _mm256_add_pd(_mm256_add_pd(s0, s2), _mm256_add_pd(s1, s3));
    const __m128d u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    double s = _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
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
    if (n <= 0) return 0;
    const int isa = aimclr_isa();
    const double mu = aimclr_sum(f, n) / (double)n;
    const double ss = isa == AIMCLR_ISA_AVX512 ? centred_squares_avx512(f, n, mu)
                    : isa == AIMCLR_ISA_AVX2   ? centred_squares_avx2(f, n, mu)
                                               : centred_squares_portable(f, n, mu);
    const double varHat = n > 1 ? ss / (double)(n - 1) : 0;
    const float inv4 = (float)(1 / (4 * (varHat + (double)lambda)));
    switch (isa) {
    case AIMCLR_ISA_AVX512: return attention_avx512(f, n, (float)mu, inv4, threshold, att);
    case AIMCLR_ISA_AVX2: return attention_avx2(f, n, (float)mu, inv4, threshold, att);
    default: return attention_portable(f, n, (float)mu, inv4, threshold, att);
    }
}
