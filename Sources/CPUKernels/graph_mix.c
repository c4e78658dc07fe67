// Adjacency products of the spatial graph convolution (AVX-512F), see cpu_kernels.h.
//
// The right-multiplications by the V×V adjacency (V = 25 joints) are GEMMs with n = k = 25,
// where OpenBLAS reaches about 45 GFLOP/s per core. Here a tile of 12 rows keeps its 12×V
// outputs in 24 registers (two 16-lane vectors per row, the second masked to V − 16) and
// streams the adjacency rows: per (partition, joint) two loads, 12 broadcasts, 24 FMAs.
#include "cpu_kernels.h"
#include <immintrin.h>

#define MIX_ROWS 12
#define GRAD_JOINTS 13

static inline __mmask16 first_lanes(long n) {
    if (n <= 0) return 0;
    if (n >= 16) return (__mmask16)0xFFFF;
    return (__mmask16)((1u << n) - 1u);
}

__attribute__((target("avx512f"), always_inline))
static inline void mix_tile(const float *a, long aStride, int parts, const float *m, long joints, int accumulate,
                            float *y, long r0, const int ROWS) {
    const __mmask16 lo = first_lanes(joints), hi = first_lanes(joints - 16);
    __m512 acc[MIX_ROWS][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
        if (accumulate) {
            acc[r][0] = _mm512_maskz_loadu_ps(lo, y + (r0 + r) * joints);
            acc[r][1] = _mm512_maskz_loadu_ps(hi, y + (r0 + r) * joints + 16);
        } else {
            acc[r][0] = _mm512_setzero_ps();
            acc[r][1] = _mm512_setzero_ps();
        }
    }
    for (int p = 0; p < parts; p++) {
        const float *ap = a + p * aStride + r0 * joints;
        const float *mp = m + (long)p * joints * joints;
        for (long v = 0; v < joints; v++) {
            const __m512 m0 = _mm512_maskz_loadu_ps(lo, mp + v * joints);
            const __m512 m1 = _mm512_maskz_loadu_ps(hi, mp + v * joints + 16);
#pragma clang loop unroll(full)
            for (int r = 0; r < ROWS; r++) {
                const __m512 s = _mm512_set1_ps(ap[r * joints + v]);
                acc[r][0] = _mm512_fmadd_ps(s, m0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(s, m1, acc[r][1]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
        _mm512_mask_storeu_ps(y + (r0 + r) * joints, lo, acc[r][0]);
        _mm512_mask_storeu_ps(y + (r0 + r) * joints + 16, hi, acc[r][1]);
    }
}

__attribute__((target("avx512f")))
void aimclr_graph_mix(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
                      float *y, long rowBegin, long rowEnd) {
    long r = rowBegin;
    for (; r + MIX_ROWS <= rowEnd; r += MIX_ROWS) mix_tile(a, aStride, parts, m, joints, accumulate, y, r, MIX_ROWS);
    for (; r < rowEnd; r++) mix_tile(a, aStride, parts, m, joints, accumulate, y, r, 1);
}

/// out[v0 + j, :] += Σ_r a[r, v0 + j] · g[r, :] for j < COUNT (COUNT ≤ GRAD_JOINTS).
__attribute__((target("avx512f"), always_inline))
static inline void mix_grad_joints(const float *a, const float *g, long joints, long r0, long r1, long v0,
                                   float *out, const int COUNT) {
    const __mmask16 lo = first_lanes(joints), hi = first_lanes(joints - 16);
    __m512 acc[GRAD_JOINTS][2];
#pragma clang loop unroll(full)
    for (int j = 0; j < COUNT; j++) { acc[j][0] = _mm512_setzero_ps(); acc[j][1] = _mm512_setzero_ps(); }
    for (long r = r0; r < r1; r++) {
        const __m512 g0 = _mm512_maskz_loadu_ps(lo, g + r * joints);
        const __m512 g1 = _mm512_maskz_loadu_ps(hi, g + r * joints + 16);
        const float *ar = a + r * joints + v0;
#pragma clang loop unroll(full)
        for (int j = 0; j < COUNT; j++) {
            const __m512 s = _mm512_set1_ps(ar[j]);
            acc[j][0] = _mm512_fmadd_ps(s, g0, acc[j][0]);
            acc[j][1] = _mm512_fmadd_ps(s, g1, acc[j][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int j = 0; j < COUNT; j++) {
        float *o = out + (v0 + j) * joints;
        _mm512_mask_storeu_ps(o, lo, _mm512_add_ps(_mm512_maskz_loadu_ps(lo, o), acc[j][0]));
        _mm512_mask_storeu_ps(o + 16, hi, _mm512_add_ps(_mm512_maskz_loadu_ps(hi, o + 16), acc[j][1]));
    }
}

#define GRAD_REMAINDER(N) case N: mix_grad_joints(ap, gp, joints, c0, c1, v, op, N); break;

/// Rows per chunk of the ∂L/∂Â sums: both joint groups and every partition read the chunk's
/// rows (about 50 KB of a and g) from cache instead of from memory.
#define GRAD_CHUNK_ROWS 256

__attribute__((target("avx512f")))
void aimclr_graph_mix_grad(const float *a, long aStride, const float *g, long gStride, int parts, int joints,
                           long rowBegin, long rowEnd, float *out) {
    for (long c0 = rowBegin; c0 < rowEnd; c0 += GRAD_CHUNK_ROWS) {
        const long c1 = c0 + GRAD_CHUNK_ROWS < rowEnd ? c0 + GRAD_CHUNK_ROWS : rowEnd;
        for (int p = 0; p < parts; p++) {
            const float *ap = a + p * aStride, *gp = g + p * gStride;
            float *op = out + (long)p * joints * joints;
            long v = 0;
            for (; v + GRAD_JOINTS <= joints; v += GRAD_JOINTS) mix_grad_joints(ap, gp, joints, c0, c1, v, op, GRAD_JOINTS);
            switch (joints - v) {
                GRAD_REMAINDER(1) GRAD_REMAINDER(2) GRAD_REMAINDER(3) GRAD_REMAINDER(4)
                GRAD_REMAINDER(5) GRAD_REMAINDER(6) GRAD_REMAINDER(7) GRAD_REMAINDER(8)
                GRAD_REMAINDER(9) GRAD_REMAINDER(10) GRAD_REMAINDER(11) GRAD_REMAINDER(12)
                default: break;
            }
        }
    }
}
