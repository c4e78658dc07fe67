// Strided row copies for permutes that keep the innermost dimension, see cpu_kernels.h.
#include "cpu_kernels.h"
#include <immintrin.h>
#include <string.h>

__attribute__((target("avx512f")))
static void copy_rows_avx512(const float *src, long srcStride, float *dst, long dstStride, long rows, long width) {
    const __mmask16 lo = width >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << width) - 1u);
    const __mmask16 hi = width <= 16 ? 0 : width >= 32 ? (__mmask16)0xFFFF : (__mmask16)((1u << (width - 16)) - 1u);
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * srcStride;
        float *d = dst + r * dstStride;
        _mm512_mask_storeu_ps(d, lo, _mm512_maskz_loadu_ps(lo, s));
        if (hi) _mm512_mask_storeu_ps(d + 16, hi, _mm512_maskz_loadu_ps(hi, s + 16));
    }
}

void aimclr_copy_rows(const float *src, long srcStride, float *dst, long dstStride, long rows, long width) {
    if (width <= 32 && aimclr_use_avx512()) {
        copy_rows_avx512(src, srcStride, dst, dstStride, rows, width);
        return;
    }
    for (long r = 0; r < rows; r++) memcpy(dst + r * dstStride, src + r * srcStride, (size_t)width * sizeof(float));
}
