// Per-channel sums in Double for batch norm and bias gradients, see cpu_kernels.h.
//
// Double keeps a channel of a few hundred thousand elements exact to float resolution, but a
// scalar Double chain is latency-bound (one add per 4 cycles). Eight Double lanes per
// accumulator (two accumulators per sum on AVX-512) make it bandwidth-bound. The summation
// order is fixed for a given n, so results are deterministic.
#include "cpu_kernels.h"
#include <immintrin.h>

static int portable_only = 0;

void aimclr_set_portable_only(int on) { portable_only = on; }

int aimclr_use_avx512(void) {
    static int available = -1;
    if (available < 0) available = aimclr_avx512_available();
    return available && !portable_only;
}

static int avx512(void) { return aimclr_use_avx512(); }

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

void aimclr_sum_and_squares(const float *x, long n, double *sum, double *squares) {
    if (avx512()) sums_avx512(x, 0, n, 0, 1, sum, squares);
    else sums_portable(x, 0, n, 0, 1, sum, squares);
}

void aimclr_sum_and_normalized_dot(const float *g, const float *x, long n, float mean, float invStd,
                                   double *sumG, double *sumGXhat) {
    if (avx512()) sums_avx512(x, g, n, mean, invStd, sumG, sumGXhat);
    else sums_portable(x, g, n, mean, invStd, sumG, sumGXhat);
}

double aimclr_sum(const float *x, long n) {
    double s, q;
    aimclr_sum_and_squares(x, n, &s, &q);
    return s;
}
