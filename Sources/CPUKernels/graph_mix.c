// Adjacency products of the spatial graph convolution, see cpu_kernels.h.
//
// The right-multiplications by the V×V adjacency (V = 25 joints) are GEMMs with n = k = 25,
// where OpenBLAS reaches about 45 GFLOP/s per core. AVX-512: a tile of 12 rows keeps its 12×V
// outputs in 24 registers (two 16-lane vectors per row, the second masked to V − 16) and
// streams the adjacency rows: per (partition, joint) two loads, 12 broadcasts, 24 FMAs.
// AVX2 (16 ymm registers): the adjacency is first copied with its rows padded to whole 8-lane
// vectors (zeros past V), then a tile of 12 accumulators (3 rows × 4 vectors for V > 24, 4 × 3,
// 6 × 2 or 12 × 1 for fewer joints) streams them, as FMA memory operands where 3 or 4 vectors
// would not fit in registers beside the sums; ∂L/∂Â uses the same 12-sum tiles over g's rows.
// Both vector paths sum each output in the same order (partitions, then joints, one FMA per
// step; rows in chunks for ∂L/∂Â), so their results are identical; the portable path sums in
// that order with separate multiplies and adds.
#include "cpu_kernels.h"
#include <immintrin.h>
#include <string.h>

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
static void graph_mix_avx512(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
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
static void graph_mix_grad_avx512(const float *a, long aStride, const float *g, long gStride, int parts, int joints,
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

// ---- AVX2 + FMA ----

/// Partitions packed per pass (16 KB of stack at V = 32); more are done in further passes that
/// accumulate, which keeps each output's order of FMAs.
#define PACK_PARTS 4

/// Lanes [0, count) of an 8-lane mask (count clamped to [0, 8]).
__attribute__((target("avx2")))
static inline __m256i lanes8(long count) {
    const int c = count < 0 ? 0 : count > 8 ? 8 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Rows [r0, r0 + ROWS) of y (=|+=) Σ_p a_p · m_p with m packed (rows VECS·8 floats apart).
/// A row's last vector reaches past its V outputs when V is not a multiple of 8. Rows whose
/// whole vectors stay inside the tile are loaded and stored whole: the spill lands in later rows
/// of the tile, read before and stored again after. Only the others (the last row for V ≥ 8)
/// use a masked load and store.
__attribute__((target("avx2,fma"), always_inline))
static inline void mix_tile8(const float *a, long aStride, int parts, const float *pk, long joints, int accumulate,
                             float *y, long r0, const int ROWS, const int VECS) {
    const long pad = 8 * VECS;
    const __m256i tail = lanes8(joints - 8 * (VECS - 1));
    __m256 acc[12][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
        const float *yr = y + (r0 + r) * joints;
        const int whole = r * joints + pad <= ROWS * joints;
#pragma clang loop unroll(full)
        for (int q = 0; q < VECS; q++) {
            if (!accumulate) acc[r][q] = _mm256_setzero_ps();
            else if (q == VECS - 1 && !whole) acc[r][q] = _mm256_maskload_ps(yr + 8 * q, tail);
            else acc[r][q] = _mm256_loadu_ps(yr + 8 * q);
        }
    }
    for (int p = 0; p < parts; p++) {
        const float *ap = a + p * aStride + r0 * joints;
        const float *mp = pk + (long)p * joints * pad;
        for (long v = 0; v < joints; v++) {
#pragma clang loop unroll(full)
            for (int r = 0; r < ROWS; r++) {
                const __m256 s = _mm256_broadcast_ss(ap + r * joints + v);
                // For 3 or 4 vectors an opaque copy of the row's address per tile row: the compiler
                // cannot keep the VECS loads in registers (which spills accumulators), so they stay
                // FMA memory operands. One or two vectors fit in registers with the 12 sums.
                const float *mr = mp + v * pad;
                if (VECS > 2) __asm__ volatile("" : "+r"(mr));
#pragma clang loop unroll(full)
                for (int q = 0; q < VECS; q++)
                    acc[r][q] = _mm256_fmadd_ps(s, _mm256_load_ps(mr + 8 * q), acc[r][q]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
        float *yr = y + (r0 + r) * joints;
        const int whole = r * joints + pad <= ROWS * joints;
#pragma clang loop unroll(full)
        for (int q = 0; q < VECS; q++) {
            if (q == VECS - 1 && !whole) _mm256_maskstore_ps(yr + 8 * q, tail, acc[r][q]);
            else _mm256_storeu_ps(yr + 8 * q, acc[r][q]);
        }
    }
}

__attribute__((target("avx2,fma"), always_inline))
static inline void mix_rows8(const float *a, long aStride, int parts, const float *pk, long joints, int accumulate,
                             float *y, long rowBegin, long rowEnd, const int ROWS, const int VECS) {
    long r = rowBegin;
    for (; r + ROWS <= rowEnd; r += ROWS) mix_tile8(a, aStride, parts, pk, joints, accumulate, y, r, ROWS, VECS);
    for (; r < rowEnd; r++) mix_tile8(a, aStride, parts, pk, joints, accumulate, y, r, 1, VECS);
}

__attribute__((target("avx2,fma")))
static void graph_mix_avx2(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
                           float *y, long rowBegin, long rowEnd) {
    const int vecs = (joints + 7) / 8;
    const long pad = 8 * vecs;
    _Alignas(32) float pk[PACK_PARTS * AIMCLR_GRAPH_MAX_JOINTS * AIMCLR_GRAPH_MAX_JOINTS];
    for (int p0 = 0; p0 < parts; p0 += PACK_PARTS) {
        const int count = parts - p0 < PACK_PARTS ? parts - p0 : PACK_PARTS;
        memset(pk, 0, sizeof(float) * count * joints * pad);
        for (int p = 0; p < count; p++)
            for (int v = 0; v < joints; v++)
                memcpy(pk + ((long)p * joints + v) * pad, m + ((long)(p0 + p) * joints + v) * joints, sizeof(float) * joints);
        const float *ap = a + p0 * aStride;
        const int acc = accumulate || p0 > 0;
        switch (vecs) {
        case 1: mix_rows8(ap, aStride, count, pk, joints, acc, y, rowBegin, rowEnd, 12, 1); break;
        case 2: mix_rows8(ap, aStride, count, pk, joints, acc, y, rowBegin, rowEnd, 6, 2); break;
        case 3: mix_rows8(ap, aStride, count, pk, joints, acc, y, rowBegin, rowEnd, 4, 3); break;
        default: mix_rows8(ap, aStride, count, pk, joints, acc, y, rowBegin, rowEnd, 3, 4); break;
        }
    }
}

/// acc[j] += a[r, v0 + j] · g[r, :] for j < COUNT; the last vector of g's row masked or whole.
__attribute__((target("avx2,fma"), always_inline))
static inline void grad_row8(const float *ar, const float *gr, __m256i tail, int masked, __m256 acc[12][4],
                             const int COUNT, const int VECS) {
    if (VECS > 2 && !masked) {
        // 12 sums + VECS rows of g + a broadcast exceed 16 registers: an opaque copy of g's row
        // address per joint keeps the loads as FMA memory operands instead of spilling sums.
#pragma clang loop unroll(full)
        for (int j = 0; j < COUNT; j++) {
            const __m256 s = _mm256_broadcast_ss(ar + j);
            const float *gj = gr;
            __asm__ volatile("" : "+r"(gj));
#pragma clang loop unroll(full)
            for (int q = 0; q < VECS; q++) acc[j][q] = _mm256_fmadd_ps(s, _mm256_loadu_ps(gj + 8 * q), acc[j][q]);
        }
        return;
    }
    __m256 gv[4];
#pragma clang loop unroll(full)
    for (int q = 0; q < VECS; q++)
        gv[q] = q == VECS - 1 && masked ? _mm256_maskload_ps(gr + 8 * q, tail) : _mm256_loadu_ps(gr + 8 * q);
#pragma clang loop unroll(full)
    for (int j = 0; j < COUNT; j++) {
        const __m256 s = _mm256_broadcast_ss(ar + j);
#pragma clang loop unroll(full)
        for (int q = 0; q < VECS; q++) acc[j][q] = _mm256_fmadd_ps(s, gv[q], acc[j][q]);
    }
}

/// out[v0 + j, :] += Σ_r a[r, v0 + j] · g[r, :] for j < COUNT over the rows [r0, r1).
/// g's rows are read as whole vectors (reaching into the next rows, the sums' lanes past V are
/// never stored) while that stays below row r1; the last rows use a masked load.
__attribute__((target("avx2,fma"), always_inline))
static inline void mix_grad_joints8(const float *a, const float *g, long joints, long r0, long r1, long v0,
                                    float *out, const int COUNT, const int VECS) {
    const long pad = 8 * VECS;
    const __m256i tail = lanes8(joints - 8 * (VECS - 1));
    // Whole vectors for the rows r with r·V + pad ≤ r1·V.
    long rWhole = r1 - (pad + joints - 1) / joints + 1;
    if (rWhole < r0) rWhole = r0;
    __m256 acc[12][4];
#pragma clang loop unroll(full)
    for (int j = 0; j < COUNT; j++)
#pragma clang loop unroll(full)
        for (int q = 0; q < VECS; q++) acc[j][q] = _mm256_setzero_ps();
    long r = r0;
    for (; r < rWhole; r++) grad_row8(a + r * joints + v0, g + r * joints, tail, 0, acc, COUNT, VECS);
    for (; r < r1; r++) grad_row8(a + r * joints + v0, g + r * joints, tail, 1, acc, COUNT, VECS);
#pragma clang loop unroll(full)
    for (int j = 0; j < COUNT; j++) {
        float *o = out + (v0 + j) * joints;
#pragma clang loop unroll(full)
        for (int q = 0; q < VECS; q++) {
            if (q == VECS - 1) _mm256_maskstore_ps(o + 8 * q, tail, _mm256_add_ps(_mm256_maskload_ps(o + 8 * q, tail), acc[j][q]));
            else _mm256_storeu_ps(o + 8 * q, _mm256_add_ps(_mm256_loadu_ps(o + 8 * q), acc[j][q]));
        }
    }
}

/// Every joint group of one partition over the rows [c0, c1): groups of COUNT, then the rest
/// one joint at a time.
__attribute__((target("avx2,fma"), always_inline))
static inline void mix_grad_part8(const float *a, const float *g, long joints, long c0, long c1, float *out,
                                  const int COUNT, const int VECS) {
    long v = 0;
    for (; v + COUNT <= joints; v += COUNT) mix_grad_joints8(a, g, joints, c0, c1, v, out, COUNT, VECS);
    for (; v < joints; v++) mix_grad_joints8(a, g, joints, c0, c1, v, out, 1, VECS);
}

__attribute__((target("avx2,fma")))
static void graph_mix_grad_avx2(const float *a, long aStride, const float *g, long gStride, int parts, int joints,
                                long rowBegin, long rowEnd, float *out) {
    const int vecs = (joints + 7) / 8;
    for (long c0 = rowBegin; c0 < rowEnd; c0 += GRAD_CHUNK_ROWS) {
        const long c1 = c0 + GRAD_CHUNK_ROWS < rowEnd ? c0 + GRAD_CHUNK_ROWS : rowEnd;
        for (int p = 0; p < parts; p++) {
            const float *ap = a + p * aStride, *gp = g + p * gStride;
            float *op = out + (long)p * joints * joints;
            switch (vecs) {
            case 1: mix_grad_part8(ap, gp, joints, c0, c1, op, 12, 1); break;
            case 2: mix_grad_part8(ap, gp, joints, c0, c1, op, 6, 2); break;
            case 3: mix_grad_part8(ap, gp, joints, c0, c1, op, 4, 3); break;
            default: mix_grad_part8(ap, gp, joints, c0, c1, op, 3, 4); break;
            }
        }
    }
}

// ---- Portable C ----

static void graph_mix_portable(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
                               float *y, long rowBegin, long rowEnd) {
    for (long r = rowBegin; r < rowEnd; r++) {
        float acc[AIMCLR_GRAPH_MAX_JOINTS];
        for (int j = 0; j < joints; j++) acc[j] = accumulate ? y[r * joints + j] : 0;
        for (int p = 0; p < parts; p++) {
            const float *ar = a + p * aStride + r * joints, *mp = m + (long)p * joints * joints;
            for (int v = 0; v < joints; v++) {
                const float s = ar[v];
                for (int j = 0; j < joints; j++) acc[j] += s * mp[v * joints + j];
            }
        }
        for (int j = 0; j < joints; j++) y[r * joints + j] = acc[j];
    }
}

static void graph_mix_grad_portable(const float *a, long aStride, const float *g, long gStride, int parts, int joints,
                                    long rowBegin, long rowEnd, float *out) {
    float acc[AIMCLR_GRAPH_MAX_JOINTS * AIMCLR_GRAPH_MAX_JOINTS];
    for (long c0 = rowBegin; c0 < rowEnd; c0 += GRAD_CHUNK_ROWS) {
        const long c1 = c0 + GRAD_CHUNK_ROWS < rowEnd ? c0 + GRAD_CHUNK_ROWS : rowEnd;
        for (int p = 0; p < parts; p++) {
            const float *ap = a + p * aStride, *gp = g + p * gStride;
            float *op = out + (long)p * joints * joints;
            memset(acc, 0, sizeof(float) * joints * joints);
            for (long r = c0; r < c1; r++)
                for (int v = 0; v < joints; v++) {
                    const float s = ap[r * joints + v];
                    for (int j = 0; j < joints; j++) acc[v * joints + j] += s * gp[r * joints + j];
                }
            for (int i = 0; i < joints * joints; i++) op[i] += acc[i];
        }
    }
}

void aimclr_graph_mix(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
                      float *y, long rowBegin, long rowEnd) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512: graph_mix_avx512(a, aStride, parts, m, joints, accumulate, y, rowBegin, rowEnd); break;
    case AIMCLR_ISA_AVX2: graph_mix_avx2(a, aStride, parts, m, joints, accumulate, y, rowBegin, rowEnd); break;
    default: graph_mix_portable(a, aStride, parts, m, joints, accumulate, y, rowBegin, rowEnd); break;
    }
}

void aimclr_graph_mix_grad(const float *a, long aStride, const float *g, long gStride, int parts, int joints,
                           long rowBegin, long rowEnd, float *out) {
    switch (aimclr_isa()) {
    case AIMCLR_ISA_AVX512: graph_mix_grad_avx512(a, aStride, g, gStride, parts, joints, rowBegin, rowEnd, out); break;
    case AIMCLR_ISA_AVX2: graph_mix_grad_avx2(a, aStride, g, gStride, parts, joints, rowBegin, rowEnd, out); break;
    default: graph_mix_grad_portable(a, aStride, g, gStride, parts, joints, rowBegin, rowEnd, out); break;
    }
}
