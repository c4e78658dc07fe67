// Direct temporal-convolution kernels, see cpu_kernels.h.
//
// A temporal convolution on channel-major activations is a sum over taps of products of the
// weight slice with the input shifted by whole frames (a shift of s·V positions in a sample's
// T·V plane). The input gradient is the same sum with negated shifts and the transposed
// weight, so one kernel with an explicit list of tap shifts serves both.
//
// Convolution: an outer-product micro-kernel over output channels × positions: per (input
// channel, tap) a few input vectors and one FMA per accumulator with broadcast weights. Lanes
// whose shifted position falls outside the input plane are masked to zero (masked loads do not
// fault), so padding costs nothing and no im2col buffer exists; tiles whose inputs all lie inside
// the plane use plain loads and stores.
//
// Weight gradient: a few output channels × a group of taps of vector partial dot products per
// input channel, reduced once per block of samples.
//
// The vector body is written once (temporal_conv_direct_body.h) and instantiated for AVX-512
// (16 lanes, 32 registers: 8 channels × 48 positions, 3 gradient rows × 9 taps) and AVX2+FMA
// (8 lanes, 16 registers: 4 channels × 16 positions, 2 gradient rows × 5 taps); portable C covers
// other CPUs.
#include "cpu_kernels.h"
#include <immintrin.h>
#include <stdlib.h>

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
static inline __mmask16 lane_range16(long lo, long hi) {
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)((((unsigned)1 << hi) - 1u) & ~(((unsigned)1 << lo) - 1u));
}

/// Lanes l of an 8-lane vector with lo <= l < hi, as the sign bits AVX2's masked moves read.
__attribute__((target("avx2")))
static inline __m256i lane_range8(long lo, long hi) {
    if (lo < 0) lo = 0;
    if (hi > 8) hi = 8;
    if (hi <= lo) return _mm256_setzero_si256();
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)lo - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane));
}

__attribute__((target("avx2")))
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define V_SUFFIX _avx512
#define V_TARGET __attribute__((target("avx512f")))
#define VEC __m512
#define V_MASK __mmask16
#define V_LANES 16
#define V_TILE_O 8
#define V_TILE_VECS 3
#define V_GRAD_O 3
#define V_GRAD_TAPS 9
#define v_zero() _mm512_setzero_ps()
#define v_set1(a) _mm512_set1_ps(a)
#define v_fmadd(a, b, c) _mm512_fmadd_ps(a, b, c)
#define v_max(a, b) _mm512_max_ps(a, b)
#define v_load(p) _mm512_loadu_ps(p)
#define v_store(p, v) _mm512_storeu_ps(p, v)
#define v_load_masked(m, p) _mm512_maskz_loadu_ps(m, p)
#define v_store_masked(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define v_reduce_add(v) _mm512_reduce_add_ps(v)
#define v_lane_range(lo, hi) lane_range16(lo, hi)
#include "temporal_conv_direct_body.h"
#undef V_SUFFIX
#undef V_TARGET
#undef VEC
#undef V_MASK
#undef V_LANES
#undef V_TILE_O
#undef V_TILE_VECS
#undef V_GRAD_O
#undef V_GRAD_TAPS
#undef v_zero
#undef v_set1
#undef v_fmadd
#undef v_max
#undef v_load
#undef v_store
#undef v_load_masked
#undef v_store_masked
#undef v_reduce_add
#undef v_lane_range

#define V_SUFFIX _avx2
#define V_TARGET __attribute__((target("avx2,fma")))
#define VEC __m256
#define V_MASK __m256i
#define V_LANES 8
// 4 × 2 accumulators: with 4 × 3 the 16 registers do not hold the inputs too and clang spills
// one accumulator per tap (measured 36 vs 21 ms at 64 → 64 channels, 16 samples of 50 × 25).
#define V_TILE_O 4
#define V_TILE_VECS 2
// Gradient: 2 rows × 5 taps (10 accumulators, two dy vectors, one input) in two passes for 9 taps;
// 1 × 9 loads an input per FMA and 3 × 4 spills (64 → 64 channels, 16 × 50 × 25: 18–20 ms vs
// 24–27 and 34–38 ms).
#define V_GRAD_O 2
#define V_GRAD_TAPS 5
#define v_zero() _mm256_setzero_ps()
#define v_set1(a) _mm256_set1_ps(a)
#define v_fmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#define v_max(a, b) _mm256_max_ps(a, b)
#define v_load(p) _mm256_loadu_ps(p)
#define v_store(p, v) _mm256_storeu_ps(p, v)
#define v_load_masked(m, p) _mm256_maskload_ps(p, m)
#define v_store_masked(p, m, v) _mm256_maskstore_ps(p, m, v)
#define v_reduce_add(v) hsum8(v)
#define v_lane_range(lo, hi) lane_range8(lo, hi)
#include "temporal_conv_direct_body.h"

/// The portable path: the same sums, one output element at a time.
static void tconv_direct_portable(const float *x, int inChannels, int batch, int plane, const long *shifts, int taps,
                                  const float *packed, int outChannels, const float *bias, int mode,
                                  const AimclrEpilogue *ep, float *y, int sampleBegin, int sampleEnd) {
    const long opad = round_up8(outChannels), rowStride = (long)batch * plane;
    if (mode == 2) ep = NULL;
    for (long b = sampleBegin; b < sampleEnd; b++)
        for (long o = 0; o < outChannels; o++)
            for (long q = 0; q < plane; q++) {
                const long at = o * rowStride + b * plane + q;
                float s = mode == 1 ? bias[o] : mode == 2 ? y[at] : 0.0f;
                for (long i = 0; i < inChannels; i++)
                    for (int t = 0; t < taps; t++) {
                        const long p = q + shifts[t];
                        if (p >= 0 && p < plane) s += packed[(i * taps + t) * opad + o] * x[i * rowStride + b * plane + p];
                    }
                if (ep) {
                    s = s * ep->scale[o] + ep->shift[o];
                    if (ep->residual) s += ep->residual[at] * (ep->residualScale ? ep->residualScale[o] : 1.0f);
                    if (ep->relu && !(s > 0)) s = 0.0f;
                }
                y[at] = s;
            }
}

static void tconv_weight_grad_portable(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                                       int plane, const long *shifts, int tapCount, float *dw, int sampleBegin,
                                       int sampleEnd) {
    const long rowStride = (long)batch * plane;
    for (long o = 0; o < outChannels; o++)
        for (long i = 0; i < inChannels; i++)
            for (int t = 0; t < tapCount; t++) {
                float s = 0;
                for (long b = sampleBegin; b < sampleEnd; b++) {
                    const float *d = dy + o * rowStride + b * plane, *xr = x + i * rowStride + b * plane;
                    for (long q = 0; q < plane; q++) {
                        const long p = q + shifts[t];
                        if (p >= 0 && p < plane) s += d[q] * xr[p];
                    }
                }
                dw[(o * inChannels + i) * tapCount + t] += s;
            }
}

void aimclr_tconv_direct(const float *x, int inChannels, int batch, int plane, const long *shifts, int taps,
                         const float *packed, int outChannels, const float *bias, int mode,
                         const AimclrEpilogue *epilogue, float *y, int sampleBegin, int sampleEnd) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512:
        tconv_direct_avx512(x, inChannels, batch, plane, shifts, taps, packed, outChannels, bias, mode, epilogue, y,
                            sampleBegin, sampleEnd);
        break;
    case AIMCLR_ISA_AVX2:
        tconv_direct_avx2(x, inChannels, batch, plane, shifts, taps, packed, outChannels, bias, mode, epilogue, y,
                          sampleBegin, sampleEnd);
        break;
    default:
        tconv_direct_portable(x, inChannels, batch, plane, shifts, taps, packed, outChannels, bias, mode, epilogue, y,
                              sampleBegin, sampleEnd);
    }
}

void aimclr_tconv_weight_grad(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                              int plane, const long *shifts, int tapCount, float *dw, int sampleBegin, int sampleEnd,
                              long blockBytes) {
    if (tapCount < 1 || tapCount > AIMCLR_DIRECT_MAX_TAPS) abort();
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512:
        tconv_weight_grad_avx512(x, inChannels, dy, outChannels, batch, plane, shifts, tapCount, dw, sampleBegin,
                                 sampleEnd, blockBytes);
        break;
    case AIMCLR_ISA_AVX2:
        tconv_weight_grad_avx2(x, inChannels, dy, outChannels, batch, plane, shifts, tapCount, dw, sampleBegin,
                               sampleEnd, blockBytes);
        break;
    default:
        tconv_weight_grad_portable(x, inChannels, dy, outChannels, batch, plane, shifts, tapCount, dw, sampleBegin,
                                   sampleEnd);
    }
}
