// Per-channel sums in Double for batch norm and bias gradients, see cpu_kernels.h.
//
// Double keeps a channel of a few hundred thousand elements exact to float resolution, but a
// scalar Double chain is latency-bound (one add per 4 cycles). Eight Double lanes per
// accumulator (two accumulators per sum on AVX-512, four 4-lane ones on AVX2) make it
// bandwidth-bound. The summation order is fixed for a given n and path, so results are
// deterministic.
#include "cpu_kernels.h"
#include <immintrin.h>

/// Adds the elements [i, n) one by one to the vector sums s and q and stores the totals.
static inline void add_tail(const float *x, const float *g, long i, long n, float mean, float invStd, double s,
                            double q, double *sum, double *second) {
    for (; i < n; i++) {
        if (g) {
            const double gi = g[i];
            s += gi;
            q += gi * (double)((x[i] - mean) * invStd);
        } else {
            const double xi = x[i];
            s += xi;
            q += xi * xi;
        }
    }
    *sum = s;
    *second = q;
}

__attribute__((target("avx512f")))
static void sums_avx512(const float *x, const float *g, long n, float mean, float invStd,
                        double *sum, double *second) {
    // g == NULL: Σx and Σx²; otherwise Σg and Σg·(x − mean)·invStd.
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    const __m512 m = _mm512_set1_ps(mean), k = _mm512_set1_ps(invStd);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        if (g) {
            const __m512 gv = _mm512_loadu_ps(g + i);
            const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(xv, m), k);
            const __m512d ga = _mm512_cvtps_pd(_mm512_castps512_ps256(gv));
            const __m512d gb = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(gv), 1)));
            const __m512d ha = _mm512_cvtps_pd(_mm512_castps512_ps256(xhat));
            const __m512d hb = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xhat), 1)));
            s0 = _mm512_add_pd(s0, ga); s1 = _mm512_add_pd(s1, gb);
            q0 = _mm512_fmadd_pd(ga, ha, q0); q1 = _mm512_fmadd_pd(gb, hb, q1);
        } else {
            const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(xv));
            const __m512d b = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1)));
            s0 = _mm512_add_pd(s0, a); s1 = _mm512_add_pd(s1, b);
            q0 = _mm512_fmadd_pd(a, a, q0); q1 = _mm512_fmadd_pd(b, b, q1);
        }
    }
    double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    double q = _mm512_reduce_add_pd(_mm512_add_pd(q0, q1));
    add_tail(x, g, i, n, mean, invStd, s, q, sum, second);
}

/// Adds Double lanes of 8 floats (two 4-lane halves) to s0/s1 and their squares, or the products
/// with h, to q0/q1.
__attribute__((target("avx2,fma"), always_inline))
static inline void add8(__m256 v, __m256 h, __m256d *s0, __m256d *s1, __m256d *q0, __m256d *q1) {
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    const __m256d ha = _mm256_cvtps_pd(_mm256_castps256_ps128(h)), hb = _mm256_cvtps_pd(_mm256_extractf128_ps(h, 1));
    *s0 = _mm256_add_pd(*s0, a);
    *s1 = _mm256_add_pd(*s1, b);
    *q0 = _mm256_fmadd_pd(a, ha, *q0);
    *q1 = _mm256_fmadd_pd(b, hb, *q1);
}

__attribute__((target("avx2,fma")))
static double hsum4d(__m256d v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

__attribute__((target("avx2,fma")))
static void sums_avx2(const float *x, const float *g, long n, float mean, float invStd, double *sum, double *second) {
    // g == NULL: Σx and Σx²; otherwise Σg and Σg·(x − mean)·invStd.
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    const __m256 m = _mm256_set1_ps(mean), k = _mm256_set1_ps(invStd);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 xv = _mm256_loadu_ps(x + i);
        if (g) add8(_mm256_loadu_ps(g + i), _mm256_mul_ps(_mm256_sub_ps(xv, m), k), &s0, &s1, &q0, &q1);
        else add8(xv, xv, &s0, &s1, &q0, &q1);
    }
    double s = hsum4d(_mm256_add_pd(s0, s1)), q = hsum4d(_mm256_add_pd(q0, q1));
    add_tail(x, g, i, n, mean, invStd, s, q, sum, second);
}

static void sums_portable(const float *x, const float *g, long n, float mean, float invStd,
                          double *sum, double *second) {
    double s[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            if (g) {
                const double gi = g[i + j];
                s[j] += gi;
                q[j] += gi * (double)((x[i + j] - mean) * invStd);
            } else {
                const double xi = x[i + j];
                s[j] += xi;
                q[j] += xi * xi;
            }
        }
    for (; i < n; i++) {
        if (g) {
            const double gi = g[i];
            s[0] += gi;
            q[0] += gi * (double)((x[i] - mean) * invStd);
        } else {
            const double xi = x[i];
            s[0] += xi;
            q[0] += xi * xi;
        }
    }
    *sum = (s[0] + s[1]) + (s[2] + s[3]);
    *second = (q[0] + q[1]) + (q[2] + q[3]);
}

static void sums(const float *x, const float *g, long n, float mean, float invStd, double *sum, double *second) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512: sums_avx512(x, g, n, mean, invStd, sum, second); break;
    case AIMCLR_ISA_AVX2: sums_avx2(x, g, n, mean, invStd, sum, second); break;
    default: sums_portable(x, g, n, mean, invStd, sum, second);
    }
}

void aimclr_sum_and_squares(const float *x, long n, double *sum, double *squares) {
    sums(x, 0, n, 0, 1, sum, squares);
}

void aimclr_sum_and_normalized_dot(const float *g, const float *x, long n, float mean, float invStd,
                                   double *sumG, double *sumGXhat) {
    sums(x, g, n, mean, invStd, sumG, sumGXhat);
}

double aimclr_sum(const float *x, long n) {
    double s, q;
    aimclr_sum_and_squares(x, n, &s, &q);
    return s;
}
