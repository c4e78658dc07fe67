// Direct temporal-convolution kernels (AVX-512F), see cpu_kernels.h.
//
// A temporal convolution on channel-major activations is a sum over taps of products of the
// weight slice with the input shifted by whole frames (a shift of s·V positions in a sample's
// T·V plane). The input gradient is the same sum with negated shifts and the transposed
// weight, so one kernel with an explicit list of tap shifts serves both.
//
// Convolution: an outer-product micro-kernel over 8 output channels × 48 positions (24
// accumulators): per (input channel, tap) three input vectors and 24 FMAs with broadcast
// weights. Lanes whose shifted position falls outside the input plane are masked to zero
// (masked loads do not fault), so padding costs nothing and no im2col buffer exists.
//
// Weight gradient: 3 output channels × all taps of 16-lane partial dot products per input
// channel (3·taps accumulators), reduced once per block of samples.
#include "cpu_kernels.h"
#include <immintrin.h>
#include <stdlib.h>

#define TILE_O 8
#define TILE_VECS 3
#define TILE_P (16 * TILE_VECS)
#define GRAD_O 3

int aimclr_avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("bmi2") ? 1 : 0;
}

static long round_up8(long n) { return (n + 7) / 8 * 8; }

long aimclr_tconv_packed_count(int outChannels, int inChannels, int kernel) {
    return (long)inChannels * kernel * round_up8(outChannels);
}

void aimclr_tconv_pack_weight(const float *weight, int outChannels, int inChannels, int kernel, int transpose,
                              float *packed) {
    const long opad = round_up8(outChannels);
    for (long i = 0; i < inChannels; i++)
        for (long k = 0; k < kernel; k++) {
            float *row = packed + (i * kernel + k) * opad;
            for (long o = 0; o < opad; o++) {
                float w = 0;
                if (o < outChannels)
                    w = transpose ? weight[(i * outChannels + o) * kernel + k] : weight[(o * inChannels + i) * kernel + k];
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

/// Lanes of the vector at plane position q whose input q + shift also lies in [0, plane).
static inline __mmask16 shifted_lanes(long q, long shift, long plane) {
    long hi = plane - q;
    if (plane - shift - q < hi) hi = plane - shift - q;
    return lane_range(-shift - q, hi);
}

__attribute__((target("avx512f")))
static void direct_sample(const float *x, int inChannels, long rowStride, long plane, const long *shifts, int taps,
                          const float *packed, long opad, int outChannels, const float *bias, int mode,
                          const AimclrEpilogue *ep, float *y, long sample) {
    __mmask16 masks[AIMCLR_DIRECT_MAX_TAPS][TILE_VECS];
    __mmask16 outMask[TILE_VECS];
    for (long o0 = 0; o0 < outChannels; o0 += TILE_O) {
        const long rows = outChannels - o0 < TILE_O ? outChannels - o0 : TILE_O;
        for (long p0 = 0; p0 < plane; p0 += TILE_P) {
            for (int j = 0; j < TILE_VECS; j++) {
                outMask[j] = lane_range(0, plane - (p0 + 16 * j));
                for (int t = 0; t < taps; t++)
                    masks[t][j] = shifted_lanes(p0 + 16 * j, shifts[t], plane);
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
                const float *wr = packed + (i * taps) * opad + o0;
                for (int t = 0; t < taps; t++) {
                    const float *xp = xr + shifts[t];
                    const __m512 x0 = _mm512_maskz_loadu_ps(masks[t][0], xp);
                    const __m512 x1 = _mm512_maskz_loadu_ps(masks[t][1], xp + 16);
                    const __m512 x2 = _mm512_maskz_loadu_ps(masks[t][2], xp + 32);
                    const float *w = wr + t * opad;
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
                const long offset = (o0 + r) * rowStride + sample * plane + p0;
                if (ep) {
                    const long o = o0 + r;
                    const __m512 s = _mm512_set1_ps(ep->scale[o]), t = _mm512_set1_ps(ep->shift[o]);
                    const __m512 rs = _mm512_set1_ps(ep->residualScale ? ep->residualScale[o] : 1.0f);
#pragma clang loop unroll(full)
                    for (int j = 0; j < TILE_VECS; j++) {
                        __m512 a = _mm512_fmadd_ps(acc[r][j], s, t);
                        if (ep->residual)
                            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(outMask[j], ep->residual + offset + 16 * j), rs, a);
                        if (ep->relu) a = _mm512_max_ps(a, _mm512_setzero_ps());
                        acc[r][j] = a;
                    }
                }
                float *yp = y + offset;
#pragma clang loop unroll(full)
                for (int j = 0; j < TILE_VECS; j++) _mm512_mask_storeu_ps(yp + 16 * j, outMask[j], acc[r][j]);
            }
        }
    }
}

void aimclr_tconv_direct(const float *x, int inChannels, int batch, int plane, const long *shifts, int taps,
                         const float *packed, int outChannels, const float *bias, int mode,
                         const AimclrEpilogue *epilogue, float *y, int sampleBegin, int sampleEnd) {
    const long opad = round_up8(outChannels);
    for (long b = sampleBegin; b < sampleEnd; b++)
        direct_sample(x, inChannels, (long)batch * plane, plane, shifts, taps, packed, opad, outChannels,
                      bias, mode, mode == 2 ? NULL : epilogue, y, b);
}

/// What the weight-gradient kernel reads, shared by every (output tile, input channel) call.
typedef struct {
    const float *x, *dy;
    long rowStride, plane;
    const long *shifts;
    long interiorLo, interiorHi;   // vectors q in [interiorLo, interiorHi] need no masks
    const __mmask16 *edgeMasks;    // per vector: output lanes, then each tap's input lanes
} GradPlan;

/// Partial sums for GRAD_O output rows and one input row over the samples [b0, b1), all taps.
/// TAPS is a compile-time count so the GRAD_O·TAPS accumulators live in registers.
__attribute__((target("avx512f"), always_inline))
static inline void grad_rows(const GradPlan *g, long o0, long rows, long i, long b0, long b1,
                             float *acc_out, const int TAPS) {
    __m512 acc[GRAD_O][AIMCLR_DIRECT_MAX_TAPS];
#pragma clang loop unroll(full)
    for (int r = 0; r < GRAD_O; r++)
#pragma clang loop unroll(full)
        for (int t = 0; t < TAPS; t++) acc[r][t] = _mm512_setzero_ps();
    long shift[AIMCLR_DIRECT_MAX_TAPS];
#pragma clang loop unroll(full)
    for (int t = 0; t < TAPS; t++) shift[t] = g->shifts[t];
    const long r1 = rows > 1 ? g->rowStride : 0, r2 = rows > 2 ? 2 * g->rowStride : r1;
    for (long b = b0; b < b1; b++) {
        const float *xr = g->x + i * g->rowStride + b * g->plane;
        const float *d0 = g->dy + o0 * g->rowStride + b * g->plane;
        for (long q = 0; q < g->plane; q += 16) {
            __m512 d[GRAD_O];
            if (q >= g->interiorLo && q <= g->interiorHi) {
                d[0] = _mm512_loadu_ps(d0 + q);
                d[1] = _mm512_loadu_ps(d0 + r1 + q);
                d[2] = _mm512_loadu_ps(d0 + r2 + q);
#pragma clang loop unroll(full)
                for (int t = 0; t < TAPS; t++) {
                    const __m512 xv = _mm512_loadu_ps(xr + q + shift[t]);
#pragma clang loop unroll(full)
                    for (int r = 0; r < GRAD_O; r++) acc[r][t] = _mm512_fmadd_ps(d[r], xv, acc[r][t]);
                }
            } else {
                const __mmask16 *m = g->edgeMasks + (q / 16) * (TAPS + 1);
                d[0] = _mm512_maskz_loadu_ps(m[0], d0 + q);
                d[1] = _mm512_maskz_loadu_ps(m[0], d0 + r1 + q);
                d[2] = _mm512_maskz_loadu_ps(m[0], d0 + r2 + q);
#pragma clang loop unroll(full)
                for (int t = 0; t < TAPS; t++) {
                    const __m512 xv = _mm512_maskz_loadu_ps(m[t + 1], xr + q + shift[t]);
#pragma clang loop unroll(full)
                    for (int r = 0; r < GRAD_O; r++) acc[r][t] = _mm512_fmadd_ps(d[r], xv, acc[r][t]);
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < GRAD_O; r++)
#pragma clang loop unroll(full)
        for (int t = 0; t < TAPS; t++) acc_out[r * AIMCLR_DIRECT_MAX_TAPS + t] = _mm512_reduce_add_ps(acc[r][t]);
}

#define GRAD_CASE(TAPS) case TAPS: grad_rows(&plan, o0, rows, i, b0, b1, sums, TAPS); break;

__attribute__((target("avx512f")))
void aimclr_tconv_weight_grad(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                              int plane, const long *shifts, int tapCount, float *dw, int sampleBegin, int sampleEnd,
                              long blockBytes) {
    if (tapCount < 1 || tapCount > AIMCLR_DIRECT_MAX_TAPS) abort();
    GradPlan plan = {x, dy, (long)batch * plane, plane, shifts, 0, 0, 0};
    long lo = 0, hi = plane;   // vectors [q, q + 16) inside the plane with every tap inside it too
    for (int t = 0; t < tapCount; t++) {
        if (-shifts[t] > lo) lo = -shifts[t];
        if (plane - shifts[t] < hi) hi = plane - shifts[t];
    }
    plan.interiorLo = lo;
    plan.interiorHi = hi - 16;
    const long vectors = (plane + 15) / 16;
    __mmask16 *edgeMasks = malloc(sizeof(__mmask16) * vectors * (tapCount + 1));
    if (!edgeMasks) abort();
    for (long v = 0; v < vectors; v++) {
        edgeMasks[v * (tapCount + 1)] = lane_range(0, plane - 16 * v);
        for (int t = 0; t < tapCount; t++)
            edgeMasks[v * (tapCount + 1) + 1 + t] = shifted_lanes(16 * v, shifts[t], plane);
    }
    plan.edgeMasks = edgeMasks;
    long perBlock = blockBytes / ((long)(inChannels + outChannels) * plane * 4);
    if (perBlock < 1) perBlock = 1;
    float sums[GRAD_O * AIMCLR_DIRECT_MAX_TAPS];
    for (long b0 = sampleBegin; b0 < sampleEnd; b0 += perBlock) {
        const long b1 = b0 + perBlock < sampleEnd ? b0 + perBlock : sampleEnd;
        for (long o0 = 0; o0 < outChannels; o0 += GRAD_O) {
            const long rows = outChannels - o0 < GRAD_O ? outChannels - o0 : GRAD_O;
            for (long i = 0; i < inChannels; i++) {
                switch (tapCount) {
                    GRAD_CASE(1) GRAD_CASE(2) GRAD_CASE(3) GRAD_CASE(4) GRAD_CASE(5)
                    GRAD_CASE(6) GRAD_CASE(7) GRAD_CASE(8) GRAD_CASE(9)
                    default: break;
                }
                for (long r = 0; r < rows; r++)
                    for (int t = 0; t < tapCount; t++)
                        dw[((o0 + r) * inChannels + i) * tapCount + t] += sums[r * AIMCLR_DIRECT_MAX_TAPS + t];
            }
        }
    }
    free(edgeMasks);
}
