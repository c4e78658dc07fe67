// The per-channel epilogue of an inference forward (batch norm folded to scale/shift, residual,
// ReLU), see cpu_kernels.h.
#include "cpu_kernels.h"
#include <immintrin.h>

__attribute__((target("avx512f")))
static void row_avx512(const float *v, long n, float scale, float shift, const float *res, float rscale, int relu,
                       float *y) {
    const __m512 s = _mm512_set1_ps(scale), t = _mm512_set1_ps(shift), rs = _mm512_set1_ps(rscale);
    const __m512 zero = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __m512 a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, v + i), s, t);
        if (res) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, res + i), rs, a);
        if (relu) a = _mm512_max_ps(a, zero);
        _mm512_mask_storeu_ps(y + i, m, a);
    }
}

__attribute__((target("avx2,fma")))
static void row_avx2(const float *v, long n, float scale, float shift, const float *res, float rscale, int relu,
                     float *y) {
    const __m256 s = _mm256_set1_ps(scale), t = _mm256_set1_ps(shift), rs = _mm256_set1_ps(rscale);
    const __m256 zero = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_fmadd_ps(_mm256_loadu_ps(v + i), s, t);
        if (res) a = _mm256_fmadd_ps(_mm256_loadu_ps(res + i), rs, a);
        if (relu) a = _mm256_max_ps(a, zero);
        _mm256_storeu_ps(y + i, a);
    }
    // The tail with the same fused operations in scalar form (AMD runs masked stores slowly).
    for (; i < n; i++) {
        float a = __builtin_fmaf(v[i], scale, shift);
        if (res) a = __builtin_fmaf(res[i], rscale, a);
        y[i] = relu && !(a > 0) ? 0.0f : a;
    }
}

void aimclr_epilogue_row(const float *v, long n, float scale, float shift, const float *res, float rscale, int relu,
                         float *y) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512: row_avx512(v, n, scale, shift, res, rscale, relu, y); return;
    case AIMCLR_ISA_AVX2: row_avx2(v, n, scale, shift, res, rscale, relu, y); return;
    default: break;
    }
    for (long i = 0; i < n; i++) {
        float a = v[i] * scale + shift;
        if (res) a += res[i] * rscale;
        y[i] = relu && !(a > 0) ? 0.0f : a;
    }
}
