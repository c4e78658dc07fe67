// Products with a small left matrix along strided rows, see cpu_kernels.h: the time transforms
// of the spectral temporal convolution (13-33 rows by 13-33 columns of basis against windows of
// a few hundred positions), where OpenBLAS's packing costs more than the product.
#include "cpu_kernels.h"
#include <immintrin.h>

static void small_matmul_portable(const float *m, long rows, long inner, const float *in, long ldi,
                                  float *out, long ldo, long n, int accumulate) {
    for (long r = 0; r < rows; r++) {
        float *o = out + r * ldo;
        if (!accumulate) for (long i = 0; i < n; i++) o[i] = 0;
        for (long k = 0; k < inner; k++) {
            const float w = m[r * inner + k];
            const float *x = in + k * ldi;
            for (long i = 0; i < n; i++) o[i] += w * x[i];
        }
    }
}

/// Two rows × 32 columns in registers (8 accumulators; each input vector feeds two FMAs), then
/// single rows, then 8-column strips, then a scalar tail.
__attribute__((target("avx2,fma")))
static void small_matmul_avx2(const float *m, long rows, long inner, const float *in, long ldi,
                              float *out, long ldo, long n, int accumulate) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        long r = 0;
        for (; r + 2 <= rows; r += 2) {
            float *o0 = out + r * ldo + i, *o1 = o0 + ldo;
            __m256 a0, a1, a2, a3, b0, b1, b2, b3;
            if (accumulate) {
                a0 = _mm256_loadu_ps(o0); a1 = _mm256_loadu_ps(o0 + 8); a2 = _mm256_loadu_ps(o0 + 16); a3 = _mm256_loadu_ps(o0 + 24);
                b0 = _mm256_loadu_ps(o1); b1 = _mm256_loadu_ps(o1 + 8); b2 = _mm256_loadu_ps(o1 + 16); b3 = _mm256_loadu_ps(o1 + 24);
            } else {
                a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = _mm256_setzero_ps();
            }
            const float *w0 = m + r * inner, *w1 = w0 + inner;
            for (long k = 0; k < inner; k++) {
                const float *x = in + k * ldi + i;
                const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
                const __m256 x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
                const __m256 u = _mm256_broadcast_ss(w0 + k), v = _mm256_broadcast_ss(w1 + k);
                a0 = _mm256_fmadd_ps(u, x0, a0); a1 = _mm256_fmadd_ps(u, x1, a1);
                a2 = _mm256_fmadd_ps(u, x2, a2); a3 = _mm256_fmadd_ps(u, x3, a3);
                b0 = _mm256_fmadd_ps(v, x0, b0); b1 = _mm256_fmadd_ps(v, x1, b1);
                b2 = _mm256_fmadd_ps(v, x2, b2); b3 = _mm256_fmadd_ps(v, x3, b3);
            }
            _mm256_storeu_ps(o0, a0); _mm256_storeu_ps(o0 + 8, a1); _mm256_storeu_ps(o0 + 16, a2); _mm256_storeu_ps(o0 + 24, a3);
            _mm256_storeu_ps(o1, b0); _mm256_storeu_ps(o1 + 8, b1); _mm256_storeu_ps(o1 + 16, b2); _mm256_storeu_ps(o1 + 24, b3);
        }
        for (; r < rows; r++) {
            float *o0 = out + r * ldo + i;
            __m256 a0, a1, a2, a3;
            if (accumulate) {
                a0 = _mm256_loadu_ps(o0); a1 = _mm256_loadu_ps(o0 + 8); a2 = _mm256_loadu_ps(o0 + 16); a3 = _mm256_loadu_ps(o0 + 24);
            } else {
                a0 = a1 = a2 = a3 = _mm256_setzero_ps();
            }
            for (long k = 0; k < inner; k++) {
                const float *x = in + k * ldi + i;
                const __m256 u = _mm256_broadcast_ss(m + r * inner + k);
                a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(x), a0); a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(x + 8), a1);
                a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(x + 16), a2); a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(x + 24), a3);
            }
            _mm256_storeu_ps(o0, a0); _mm256_storeu_ps(o0 + 8, a1); _mm256_storeu_ps(o0 + 16, a2); _mm256_storeu_ps(o0 + 24, a3);
        }
    }
    for (; i + 8 <= n; i += 8) {
        for (long r = 0; r < rows; r++) {
            float *o0 = out + r * ldo + i;
            __m256 a = accumulate ? _mm256_loadu_ps(o0) : _mm256_setzero_ps();
            for (long k = 0; k < inner; k++) a = _mm256_fmadd_ps(_mm256_broadcast_ss(m + r * inner + k), _mm256_loadu_ps(in + k * ldi + i), a);
            _mm256_storeu_ps(o0, a);
        }
    }
    if (i < n) small_matmul_portable(m, rows, inner, in + i, ldi, out + i, ldo, n - i, accumulate);
}

/// Two rows × 64 columns in registers, then single rows, then masked 16-column strips.
__attribute__((target("avx512f")))
static void small_matmul_avx512(const float *m, long rows, long inner, const float *in, long ldi,
                                float *out, long ldo, long n, int accumulate) {
    long i = 0;
    for (; i + 64 <= n; i += 64) {
        long r = 0;
        for (; r + 2 <= rows; r += 2) {
            float *o0 = out + r * ldo + i, *o1 = o0 + ldo;
            __m512 a0, a1, a2, a3, b0, b1, b2, b3;
            if (accumulate) {
                a0 = _mm512_loadu_ps(o0); a1 = _mm512_loadu_ps(o0 + 16); a2 = _mm512_loadu_ps(o0 + 32); a3 = _mm512_loadu_ps(o0 + 48);
                b0 = _mm512_loadu_ps(o1); b1 = _mm512_loadu_ps(o1 + 16); b2 = _mm512_loadu_ps(o1 + 32); b3 = _mm512_loadu_ps(o1 + 48);
            } else {
                a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = _mm512_setzero_ps();
            }
            const float *w0 = m + r * inner, *w1 = w0 + inner;
            for (long k = 0; k < inner; k++) {
                const float *x = in + k * ldi + i;
                const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
                const __m512 x2 = _mm512_loadu_ps(x + 32), x3 = _mm512_loadu_ps(x + 48);
                const __m512 u = _mm512_set1_ps(w0[k]), v = _mm512_set1_ps(w1[k]);
                a0 = _mm512_fmadd_ps(u, x0, a0); a1 = _mm512_fmadd_ps(u, x1, a1);
                a2 = _mm512_fmadd_ps(u, x2, a2); a3 = _mm512_fmadd_ps(u, x3, a3);
                b0 = _mm512_fmadd_ps(v, x0, b0); b1 = _mm512_fmadd_ps(v, x1, b1);
                b2 = _mm512_fmadd_ps(v, x2, b2); b3 = _mm512_fmadd_ps(v, x3, b3);
            }
            _mm512_storeu_ps(o0, a0); _mm512_storeu_ps(o0 + 16, a1); _mm512_storeu_ps(o0 + 32, a2); _mm512_storeu_ps(o0 + 48, a3);
            _mm512_storeu_ps(o1, b0); _mm512_storeu_ps(o1 + 16, b1); _mm512_storeu_ps(o1 + 32, b2); _mm512_storeu_ps(o1 + 48, b3);
        }
        for (; r < rows; r++) {
            float *o0 = out + r * ldo + i;
            __m512 a0, a1, a2, a3;
            if (accumulate) {
                a0 = _mm512_loadu_ps(o0); a1 = _mm512_loadu_ps(o0 + 16); a2 = _mm512_loadu_ps(o0 + 32); a3 = _mm512_loadu_ps(o0 + 48);
            } else {
                a0 = a1 = a2 = a3 = _mm512_setzero_ps();
            }
            for (long k = 0; k < inner; k++) {
                const float *x = in + k * ldi + i;
                const __m512 u = _mm512_set1_ps(m[r * inner + k]);
                a0 = _mm512_fmadd_ps(u, _mm512_loadu_ps(x), a0); a1 = _mm512_fmadd_ps(u, _mm512_loadu_ps(x + 16), a1);
                a2 = _mm512_fmadd_ps(u, _mm512_loadu_ps(x + 32), a2); a3 = _mm512_fmadd_ps(u, _mm512_loadu_ps(x + 48), a3);
            }
            _mm512_storeu_ps(o0, a0); _mm512_storeu_ps(o0 + 16, a1); _mm512_storeu_ps(o0 + 32, a2); _mm512_storeu_ps(o0 + 48, a3);
        }
    }
    for (; i < n; i += 16) {
        const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        for (long r = 0; r < rows; r++) {
            float *o0 = out + r * ldo + i;
            __m512 a = accumulate ? _mm512_maskz_loadu_ps(mask, o0) : _mm512_setzero_ps();
            for (long k = 0; k < inner; k++)
                a = _mm512_fmadd_ps(_mm512_set1_ps(m[r * inner + k]), _mm512_maskz_loadu_ps(mask, in + k * ldi + i), a);
            _mm512_mask_storeu_ps(o0, mask, a);
        }
    }
}

void aimclr_small_matmul(const float *m, long rows, long inner, const float *in, long ldi,
                         float *out, long ldo, long n, int accumulate) {
    const int isa = aimclr_isa();
    if (isa == AIMCLR_ISA_AVX512) small_matmul_avx512(m, rows, inner, in, ldi, out, ldo, n, accumulate);
    else if (isa == AIMCLR_ISA_AVX2) small_matmul_avx2(m, rows, inner, in, ldi, out, ldo, n, accumulate);
    else small_matmul_portable(m, rows, inner, in, ldi, out, ldo, n, accumulate);
}
