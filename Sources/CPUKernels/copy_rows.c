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

/// Rows of 8 < width ≤ 32 floats: whole 8-lane vectors, the last one ending at the row's end
/// (overlapping the one before it), so no masked store is needed.
__attribute__((target("avx2")))
static void copy_rows_avx2(const float *src, long srcStride, float *dst, long dstStride, long rows, long width) {
    const long last = width - 8;
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * srcStride;
        float *d = dst + r * dstStride;
        for (long j = 0; j < last; j += 8) _mm256_storeu_ps(d + j, _mm256_loadu_ps(s + j));
        _mm256_storeu_ps(d + last, _mm256_loadu_ps(s + last));
    }
}

void aimclr_copy_rows(const float *src, long srcStride, float *dst, long dstStride, long rows, long width) {
    if (width <= 32) {
        const int isa = aimclr_isa();
        if (isa == AIMCLR_ISA_AVX512) {
            copy_rows_avx512(src, srcStride, dst, dstStride, rows, width);
            return;
        }
        if (isa == AIMCLR_ISA_AVX2 && width >= 8) {
            copy_rows_avx2(src, srcStride, dst, dstStride, rows, width);
            return;
        }
    }
    for (long r = 0; r < rows; r++) memcpy(dst + r * dstStride, src + r * srcStride, (size_t)width * sizeof(float));
}
