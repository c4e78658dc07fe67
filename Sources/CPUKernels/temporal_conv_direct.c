// Direct stride-1 temporal convolution kernels (AVX-512F), see cpu_kernels.h.
//
// Forward / input gradient: an outer-product micro-kernel over 8 output channels × 48
// positions (24 accumulators): per (input channel, tap) it loads three input vectors, shifted
// by (k − pad)·V in the sample's plane, and does 24 FMAs with broadcast weights. Lanes whose
// shifted position falls outside the plane are masked to zero (masked loads do not fault), so
// the padding costs nothing and no im2col buffer exists.
//
// Weight gradient: 3 output channels × K taps of 16-lane partial dot products per input
// channel (2·K accumulators), reduced once per block of samples.
#include "cpu_kernels.h"
#include <immintrin.h>
#include <stdlib.h>

#define TILE_O 8
#define TILE_VECS 3
#define TILE_P (16 * TILE_VECS)
#define GRAD_O 3

int aimclr_avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

static long round_up8(long n) { return (n + 7) / 8 * 8; }

long aimclr_tconv_packed_count(int outChannels, int inChannels, int kernel) {
    return (long)inChannels * kernel * round_up8(outChannels);
}

void aimclr_tconv_pack_weight(const float *weight, int outChannels, int inChannels, int kernel,
                              int transpose, float *packed) {
    const long opad = round_up8(outChannels);
    for (long i = 0; i < inChannels; i++)
        for (long k = 0; k < kernel; k++) {
            float *row = packed + (i * kernel + k) * opad;
            for (long o = 0; o < opad; o++) {
                float w = 0;
                if (o < outChannels)
                    w = transpose ? weight[(i * outChannels + o) * kernel + (kernel - 1 - k)]
                                  : weight[(o * inChannels + i) * kernel + k];
                row[o] = w;
            }
        }
}

/// Lanes l of a 16-lane vector with lo <= l < hi.
static inline __mmask16 lane_range(long lo, long hi) {
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)((((unsigned)1 << hi) - 1u) & ~(((unsigned)1 << lo) - 1u));
}

/// Lanes of the vector at plane position q whose input at q + shift lies inside the plane.
static inline __mmask16 shifted_lanes(long q, long shift, long plane) {
    long lo = -shift - q;
    long hi = plane - q;
    if (plane - shift - q < hi) hi = plane - shift - q;
    return lane_range(lo, hi);
}

__attribute__((target("avx512f")))
static void direct_sample(const float *x, int inChannels, long rowStride, long plane, long joints, int kernel,
                          const float *packed, long opad, int outChannels, const float *bias, int mode,
                          float *y, long sample) {
    const long pad = (kernel - 1) / 2;
    __mmask16 masks[AIMCLR_DIRECT_MAX_KERNEL][TILE_VECS];
    __mmask16 outMask[TILE_VECS];
    for (long o0 = 0; o0 < outChannels; o0 += TILE_O) {
        const long rows = outChannels - o0 < TILE_O ? outChannels - o0 : TILE_O;
        for (long p0 = 0; p0 < plane; p0 += TILE_P) {
            for (int j = 0; j < TILE_VECS; j++) {
                outMask[j] = lane_range(0, plane - (p0 + 16 * j));
                for (int k = 0; k < kernel; k++)
                    masks[k][j] = shifted_lanes(p0 + 16 * j, (k - pad) * joints, plane);
            }
            __m512 acc[TILE_O][TILE_VECS];
#pragma clang loop unroll(full)
            for (int r = 0; r < TILE_O; r++) {
                __m512 start = _mm512_setzero_ps();
                if (mode == 1 && r < rows) start = _mm512_set1_ps(bias[o0 + r]);
#pragma clang loop unroll(full)
                for (int j = 0; j < TILE_VECS; j++) {
                    acc[r][j] = start;
                    if (mode == 2 && r < rows)
                        acc[r][j] = _mm512_maskz_loadu_ps(outMask[j], y + (o0 + r) * rowStride + sample * plane + p0 + 16 * j);
                }
            }
            const float *xs = x + sample * plane + p0;
            for (long i = 0; i < inChannels; i++) {
                const float *xr = xs + i * rowStride;
                const float *wr = packed + (i * kernel) * opad + o0;
                for (int k = 0; k < kernel; k++) {
                    const float *xp = xr + (k - pad) * joints;
                    const __m512 x0 = _mm512_maskz_loadu_ps(masks[k][0], xp);
                    const __m512 x1 = _mm512_maskz_loadu_ps(masks[k][1], xp + 16);
                    const __m512 x2 = _mm512_maskz_loadu_ps(masks[k][2], xp + 32);
                    const float *w = wr + k * opad;
#pragma clang loop unroll(full)
                    for (int r = 0; r < TILE_O; r++) {
                        const __m512 wv = _mm512_set1_ps(w[r]);
                        acc[r][0] = _mm512_fmadd_ps(wv, x0, acc[r][0]);
                        acc[r][1] = _mm512_fmadd_ps(wv, x1, acc[r][1]);
                        acc[r][2] = _mm512_fmadd_ps(wv, x2, acc[r][2]);
                    }
                }
            }
#pragma clang loop unroll(full)
            for (int r = 0; r < TILE_O; r++) {
                if (r >= rows) break;
                float *yp = y + (o0 + r) * rowStride + sample * plane + p0;
#pragma clang loop unroll(full)
                for (int j = 0; j < TILE_VECS; j++) _mm512_mask_storeu_ps(yp + 16 * j, outMask[j], acc[r][j]);
            }
        }
    }
}

void aimclr_tconv_direct(const float *x, int inChannels, int batch, int plane, int joints, int kernel,
                         const float *packed, int outChannels, const float *bias, int mode, float *y,
                         int sampleBegin, int sampleEnd) {
    const long rowStride = (long)batch * plane;
    const long opad = round_up8(outChannels);
    for (long b = sampleBegin; b < sampleEnd; b++)
        direct_sample(x, inChannels, rowStride, plane, joints, kernel, packed, opad, outChannels, bias, mode, y, b);
}

/// Partial sums for GRAD_O output rows and one input row over the samples [b0, b1), all taps.
/// KT is a compile-time tap count so the GRAD_O·KT accumulators live in registers. Vectors
/// whose taps all stay inside the plane load unmasked; the others take their masks from
/// `edgeMasks` (KT + 1 per vector: the output lanes, then each tap's input lanes).
__attribute__((target("avx512f"), always_inline))
static inline void grad_rows(const float *x, const float *dy, long rowStride, long plane, long joints,
                             long o0, long rows, long i, long inChannels, long b0, long b1, float *dw,
                             const __mmask16 *edgeMasks, const int KT) {
    const long pad = (KT - 1) / 2;
    const long interiorLo = pad * joints, interiorHi = plane - pad * joints - 16;
    __m512 acc[GRAD_O][AIMCLR_DIRECT_MAX_KERNEL];
#pragma clang loop unroll(full)
    for (int r = 0; r < GRAD_O; r++)
#pragma clang loop unroll(full)
        for (int k = 0; k < KT; k++) acc[r][k] = _mm512_setzero_ps();
    const long r1 = rows > 1 ? rowStride : 0, r2 = rows > 2 ? 2 * rowStride : r1;
    for (long b = b0; b < b1; b++) {
        const float *xr = x + i * rowStride + b * plane;
        const float *d0 = dy + o0 * rowStride + b * plane;
        for (long q = 0; q < plane; q += 16) {
            __m512 g[GRAD_O];
            if (q >= interiorLo && q <= interiorHi) {
                g[0] = _mm512_loadu_ps(d0 + q);
                g[1] = _mm512_loadu_ps(d0 + r1 + q);
                g[2] = _mm512_loadu_ps(d0 + r2 + q);
#pragma clang loop unroll(full)
                for (int k = 0; k < KT; k++) {
                    const __m512 xv = _mm512_loadu_ps(xr + q + (k - pad) * joints);
#pragma clang loop unroll(full)
                    for (int r = 0; r < GRAD_O; r++) acc[r][k] = _mm512_fmadd_ps(g[r], xv, acc[r][k]);
                }
            } else {
                const __mmask16 *m = edgeMasks + (q / 16) * (KT + 1);
                g[0] = _mm512_maskz_loadu_ps(m[0], d0 + q);
                g[1] = _mm512_maskz_loadu_ps(m[0], d0 + r1 + q);
                g[2] = _mm512_maskz_loadu_ps(m[0], d0 + r2 + q);
#pragma clang loop unroll(full)
                for (int k = 0; k < KT; k++) {
                    const __m512 xv = _mm512_maskz_loadu_ps(m[k + 1], xr + q + (k - pad) * joints);
#pragma clang loop unroll(full)
                    for (int r = 0; r < GRAD_O; r++) acc[r][k] = _mm512_fmadd_ps(g[r], xv, acc[r][k]);
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < GRAD_O; r++) {
        if (r >= rows) break;
        float *d = dw + ((o0 + r) * inChannels + i) * KT;
#pragma clang loop unroll(full)
        for (int k = 0; k < KT; k++) d[k] += _mm512_reduce_add_ps(acc[r][k]);
    }
}

#define GRAD_CASE(KT)                                                                                  \
    case KT:                                                                                           \
        for (long o0 = 0; o0 < outChannels; o0 += GRAD_O)                                              \
            for (long i = 0; i < inChannels; i++)                                                      \
                grad_rows(x, dy, rowStride, plane, joints, o0,                                         \
                          outChannels - o0 < GRAD_O ? outChannels - o0 : GRAD_O, i, inChannels, b0, b1, dw,   \
                          edgeMasks, KT);                                                                  \
        break;

__attribute__((target("avx512f")))
void aimclr_tconv_weight_grad(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                              int plane, int joints, int kernel, float *dw, int sampleBegin, int sampleEnd,
                              long blockBytes) {
    const long rowStride = (long)batch * plane;
    long perBlock = blockBytes / ((long)(inChannels + outChannels) * plane * 4);
    if (perBlock < 1) perBlock = 1;
    const long vectors = (plane + 15) / 16, pad = (kernel - 1) / 2;
    __mmask16 *edgeMasks = malloc(sizeof(__mmask16) * vectors * (kernel + 1));
    if (!edgeMasks) abort();
    for (long v = 0; v < vectors; v++) {
        edgeMasks[v * (kernel + 1)] = lane_range(0, plane - 16 * v);
        for (long k = 0; k < kernel; k++)
            edgeMasks[v * (kernel + 1) + 1 + k] = shifted_lanes(16 * v, (k - pad) * joints, plane);
    }
    for (long b0 = sampleBegin; b0 < sampleEnd; b0 += perBlock) {
        const long b1 = b0 + perBlock < sampleEnd ? b0 + perBlock : sampleEnd;
        switch (kernel) {
            GRAD_CASE(1)
            GRAD_CASE(3)
            GRAD_CASE(5)
            GRAD_CASE(7)
            GRAD_CASE(9)
            default: break;
        }
    }
    free(edgeMasks);
}
