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

#define S_SUFFIX _avx2
#define S_TARGET __attribute__((target("avx2,fma")))
#define SVEC __m256
#define S_LANES 8
#define s_zero() _mm256_setzero_ps()
#define s_set1(a) _mm256_set1_ps(a)
#define s_load(p) _mm256_loadu_ps(p)
#define s_store(p, v) _mm256_storeu_ps(p, v)
#define s_fmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#include "small_matmul_body.h"
#undef S_SUFFIX
#undef S_TARGET
#undef SVEC
#undef S_LANES
#undef s_zero
#undef s_set1
#undef s_load
#undef s_store
#undef s_fmadd

#define S_SUFFIX _avx512
#define S_TARGET __attribute__((target("avx512f")))
#define SVEC __m512
#define S_LANES 16
#define s_zero() _mm512_setzero_ps()
#define s_set1(a) _mm512_set1_ps(a)
#define s_load(p) _mm512_loadu_ps(p)
#define s_store(p, v) _mm512_storeu_ps(p, v)
#define s_fmadd(a, b, c) _mm512_fmadd_ps(a, b, c)
#include "small_matmul_body.h"

/// The tiles, then 8-position strips, then a scalar tail.
__attribute__((target("avx2,fma")))
static void small_matmul_avx2(const float *m, long rows, long inner, const float *in, long ldi,
                              float *out, long ldo, long n, int accumulate) {
    long i = small_matmul_tiles_avx2(m, rows, inner, in, ldi, out, ldo, n, accumulate);
    for (; i + 8 <= n; i += 8) {
        for (long r = 0; r < rows; r++) {
            float *o0 = out + r * ldo + i;
            __m256 a = accumulate ? _mm256_loadu_ps(o0) : _mm256_setzero_ps();
            for (long k = 0; k < inner; k++) a = _mm256_fmadd_ps(_mm256_set1_ps(m[r * inner + k]), _mm256_loadu_ps(in + k * ldi + i), a);
            _mm256_storeu_ps(o0, a);
        }
    }
    if (i < n) small_matmul_portable(m, rows, inner, in + i, ldi, out + i, ldo, n - i, accumulate);
}

/// The tiles, then masked 16-position strips.
__attribute__((target("avx512f")))
static void small_matmul_avx512(const float *m, long rows, long inner, const float *in, long ldi,
                                float *out, long ldo, long n, int accumulate) {
    for (long i = small_matmul_tiles_avx512(m, rows, inner, in, ldi, out, ldo, n, accumulate); i < n; i += 16) {
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
