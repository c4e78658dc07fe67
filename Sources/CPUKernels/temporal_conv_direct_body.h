// Body of the direct temporal-convolution kernels for one vector width. temporal_conv_direct.c
// includes it once per path with the V_* macros set: VEC/V_MASK (vector and lane-mask types),
// V_LANES, the tile sizes V_TILE_O × V_TILE_VECS (accumulators of the convolution) and V_GRAD_O
// (output rows per weight-gradient pass), and the v_* operations. Names get the V_SUFFIX.
#define V_CAT2(a, b) a##b
#define V_CAT(a, b) V_CAT2(a, b)
#define FN(name) V_CAT(name, V_SUFFIX)
#define V_TILE_P (V_LANES * V_TILE_VECS)

/// Lanes of the vector at plane position q whose input q + shift also lies in [0, plane).
V_TARGET static inline V_MASK FN(shifted_lanes)(long q, long shift, long plane) {
    long hi = plane - q;
    if (plane - shift - q < hi) hi = plane - shift - q;
    return v_lane_range(-shift - q, hi);
}

/// One V_TILE_O × V_TILE_P output tile at (o0, p0) of one sample. EDGE = 0: every output and every
/// shifted input of the tile lies inside the plane, so loads and stores need no masks.
V_TARGET __attribute__((always_inline))
static inline void FN(direct_tile)(const float *x, int inChannels, long rowStride, long plane, const long *shifts,
                                   int taps, const float *packed, long opad, long o0, long rows, const float *bias,
                                   int mode, const AimclrEpilogue *ep, float *y, long sample, long p0, const int EDGE) {
    V_MASK masks[AIMCLR_DIRECT_MAX_TAPS][V_TILE_VECS];
    V_MASK outMask[V_TILE_VECS];
    if (EDGE)
        for (int j = 0; j < V_TILE_VECS; j++) {
            outMask[j] = v_lane_range(0, plane - (p0 + V_LANES * j));
            for (int t = 0; t < taps; t++) masks[t][j] = FN(shifted_lanes)(p0 + V_LANES * j, shifts[t], plane);
        }
    VEC acc[V_TILE_O][V_TILE_VECS];
#pragma clang loop unroll(full)
    for (int r = 0; r < V_TILE_O; r++) {
        VEC start = v_zero();
        if (mode == 1 && r < rows) start = v_set1(bias[o0 + r]);
#pragma clang loop unroll(full)
        for (int j = 0; j < V_TILE_VECS; j++) {
            acc[r][j] = start;
            if (mode == 2 && r < rows) {
                const float *yp = y + (o0 + r) * rowStride + sample * plane + p0 + V_LANES * j;
                acc[r][j] = EDGE ? v_load_masked(outMask[j], yp) : v_load(yp);
            }
        }
    }
    const float *xs = x + sample * plane + p0;
    for (long i = 0; i < inChannels; i++) {
        const float *xr = xs + i * rowStride;
        const float *wr = packed + (i * taps) * opad + o0;
        for (int t = 0; t < taps; t++) {
            const float *xp = xr + shifts[t];
            VEC xv[V_TILE_VECS];
#pragma clang loop unroll(full)
            for (int j = 0; j < V_TILE_VECS; j++)
                xv[j] = EDGE ? v_load_masked(masks[t][j], xp + V_LANES * j) : v_load(xp + V_LANES * j);
            const float *w = wr + t * opad;
#pragma clang loop unroll(full)
            for (int r = 0; r < V_TILE_O; r++) {
                const VEC wv = v_set1(w[r]);
#pragma clang loop unroll(full)
                for (int j = 0; j < V_TILE_VECS; j++) acc[r][j] = v_fmadd(wv, xv[j], acc[r][j]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < V_TILE_O; r++) {
        if (r >= rows) break;
        const long offset = (o0 + r) * rowStride + sample * plane + p0;
        if (ep) {
            const long o = o0 + r;
            const VEC s = v_set1(ep->scale[o]), t = v_set1(ep->shift[o]);
            const VEC rs = v_set1(ep->residualScale ? ep->residualScale[o] : 1.0f);
#pragma clang loop unroll(full)
            for (int j = 0; j < V_TILE_VECS; j++) {
                VEC a = v_fmadd(acc[r][j], s, t);
                if (ep->residual) {
                    const float *rp = ep->residual + offset + V_LANES * j;
                    a = v_fmadd(EDGE ? v_load_masked(outMask[j], rp) : v_load(rp), rs, a);
                }
                if (ep->relu) a = v_max(a, v_zero());
                acc[r][j] = a;
            }
        }
        float *yp = y + offset;
#pragma clang loop unroll(full)
        for (int j = 0; j < V_TILE_VECS; j++) {
            if (EDGE) v_store_masked(yp + V_LANES * j, outMask[j], acc[r][j]);
            else v_store(yp + V_LANES * j, acc[r][j]);
        }
    }
}

V_TARGET
static void FN(direct_sample)(const float *x, int inChannels, long rowStride, long plane, const long *shifts, int taps,
                              const float *packed, long opad, int outChannels, const float *bias, int mode,
                              const AimclrEpilogue *ep, float *y, long sample) {
    // Tiles at p0 in [lo, hi] read every tap's input inside the plane.
    long lo = 0, hi = plane - V_TILE_P;
    for (int t = 0; t < taps; t++) {
        if (-shifts[t] > lo) lo = -shifts[t];
        if (plane - V_TILE_P - shifts[t] < hi) hi = plane - V_TILE_P - shifts[t];
    }
    for (long o0 = 0; o0 < outChannels; o0 += V_TILE_O) {
        const long rows = outChannels - o0 < V_TILE_O ? outChannels - o0 : V_TILE_O;
        for (long p0 = 0; p0 < plane; p0 += V_TILE_P) {
            if (p0 >= lo && p0 <= hi)
                FN(direct_tile)(x, inChannels, rowStride, plane, shifts, taps, packed, opad, o0, rows, bias, mode, ep,
                                y, sample, p0, 0);
            else
                FN(direct_tile)(x, inChannels, rowStride, plane, shifts, taps, packed, opad, o0, rows, bias, mode, ep,
                                y, sample, p0, 1);
        }
    }
}

V_TARGET
static void FN(tconv_direct)(const float *x, int inChannels, int batch, int plane, const long *shifts, int taps,
                             const float *packed, int outChannels, const float *bias, int mode,
                             const AimclrEpilogue *epilogue, float *y, int sampleBegin, int sampleEnd) {
    const long opad = round_up8(outChannels);
    for (long b = sampleBegin; b < sampleEnd; b++)
        FN(direct_sample)(x, inChannels, (long)batch * plane, plane, shifts, taps, packed, opad, outChannels,
                          bias, mode, mode == 2 ? NULL : epilogue, y, b);
}

/// What the weight-gradient kernel reads, shared by every (output tile, input channel) call.
typedef struct {
    const float *x, *dy;
    long rowStride, plane;
    const long *shifts;
    long interiorLo, interiorHi;   // vectors q in [interiorLo, interiorHi] need no masks
    const V_MASK *edgeMasks;       // per vector: output lanes, then each tap's input lanes
    long tapCount;                 // taps of the convolution (the masks' stride is tapCount + 1)
} FN(GradPlan);

/// Partial sums for V_GRAD_O output rows and one input row over the samples [b0, b1), for the
/// taps [t0, t0 + TAPS). TAPS ≤ V_GRAD_TAPS is a compile-time count so the V_GRAD_O·TAPS
/// accumulators live in registers.
V_TARGET __attribute__((always_inline))
static inline void FN(grad_rows)(const FN(GradPlan) *g, long o0, long rows, long i, long b0, long b1, int t0,
                                 float *acc_out, const int TAPS) {
    VEC acc[V_GRAD_O][AIMCLR_DIRECT_MAX_TAPS];
#pragma clang loop unroll(full)
    for (int r = 0; r < V_GRAD_O; r++)
#pragma clang loop unroll(full)
        for (int t = 0; t < TAPS; t++) acc[r][t] = v_zero();
    long shift[AIMCLR_DIRECT_MAX_TAPS];
#pragma clang loop unroll(full)
    for (int t = 0; t < TAPS; t++) shift[t] = g->shifts[t0 + t];
    // Rows past the last output row read row 0 again; their sums are not used.
    long rowOffset[V_GRAD_O];
#pragma clang loop unroll(full)
    for (int r = 0; r < V_GRAD_O; r++) rowOffset[r] = (r < rows ? r : 0) * g->rowStride;
    for (long b = b0; b < b1; b++) {
        const float *xr = g->x + i * g->rowStride + b * g->plane;
        const float *d0 = g->dy + o0 * g->rowStride + b * g->plane;
        for (long q = 0; q < g->plane; q += V_LANES) {
            VEC d[V_GRAD_O];
            if (q >= g->interiorLo && q <= g->interiorHi) {
#pragma clang loop unroll(full)
                for (int r = 0; r < V_GRAD_O; r++) d[r] = v_load(d0 + rowOffset[r] + q);
#pragma clang loop unroll(full)
                for (int t = 0; t < TAPS; t++) {
                    const VEC xv = v_load(xr + q + shift[t]);
#pragma clang loop unroll(full)
                    for (int r = 0; r < V_GRAD_O; r++) acc[r][t] = v_fmadd(d[r], xv, acc[r][t]);
                }
            } else {
                const V_MASK *m = g->edgeMasks + (q / V_LANES) * (g->tapCount + 1);
#pragma clang loop unroll(full)
                for (int r = 0; r < V_GRAD_O; r++) d[r] = v_load_masked(m[0], d0 + rowOffset[r] + q);
#pragma clang loop unroll(full)
                for (int t = 0; t < TAPS; t++) {
                    const VEC xv = v_load_masked(m[t0 + t + 1], xr + q + shift[t]);
#pragma clang loop unroll(full)
                    for (int r = 0; r < V_GRAD_O; r++) acc[r][t] = v_fmadd(d[r], xv, acc[r][t]);
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < V_GRAD_O; r++)
#pragma clang loop unroll(full)
        for (int t = 0; t < TAPS; t++) acc_out[r * AIMCLR_DIRECT_MAX_TAPS + t0 + t] = v_reduce_add(acc[r][t]);
}

#define V_GRAD_CASE(TAPS) \
    case TAPS: if (TAPS <= V_GRAD_TAPS) FN(grad_rows)(&plan, o0, rows, i, b0, b1, t0, sums, TAPS); break;

V_TARGET
static void FN(tconv_weight_grad)(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                                  int plane, const long *shifts, int tapCount, float *dw, int sampleBegin,
                                  int sampleEnd, long blockBytes) {
    FN(GradPlan) plan = {x, dy, (long)batch * plane, plane, shifts, 0, 0, 0, tapCount};
    long lo = 0, hi = plane;   // vectors [q, q + V_LANES) inside the plane with every tap inside it too
    for (int t = 0; t < tapCount; t++) {
        if (-shifts[t] > lo) lo = -shifts[t];
        if (plane - shifts[t] < hi) hi = plane - shifts[t];
    }
    plan.interiorLo = lo;
    plan.interiorHi = hi - V_LANES;
    const long vectors = (plane + V_LANES - 1) / V_LANES;
    // Vector masks are read with aligned loads: 64-byte aligned storage.
    const size_t maskBytes = (sizeof(V_MASK) * vectors * (tapCount + 1) + 63) / 64 * 64;
    V_MASK *edgeMasks = aligned_alloc(64, maskBytes);
    if (!edgeMasks) abort();
    for (long v = 0; v < vectors; v++) {
        edgeMasks[v * (tapCount + 1)] = v_lane_range(0, plane - V_LANES * v);
        for (int t = 0; t < tapCount; t++)
            edgeMasks[v * (tapCount + 1) + 1 + t] = FN(shifted_lanes)(V_LANES * v, shifts[t], plane);
    }
    plan.edgeMasks = edgeMasks;
    long perBlock = blockBytes / ((long)(inChannels + outChannels) * plane * 4);
    if (perBlock < 1) perBlock = 1;
    float sums[V_GRAD_O * AIMCLR_DIRECT_MAX_TAPS];
    for (long b0 = sampleBegin; b0 < sampleEnd; b0 += perBlock) {
        const long b1 = b0 + perBlock < sampleEnd ? b0 + perBlock : sampleEnd;
        for (long o0 = 0; o0 < outChannels; o0 += V_GRAD_O) {
            const long rows = outChannels - o0 < V_GRAD_O ? outChannels - o0 : V_GRAD_O;
            for (long i = 0; i < inChannels; i++) {
                // Taps in groups of at most V_GRAD_TAPS (one pass over the block's planes each).
                for (int t0 = 0; t0 < tapCount; t0 += V_GRAD_TAPS) {
                    switch (tapCount - t0 < V_GRAD_TAPS ? tapCount - t0 : V_GRAD_TAPS) {
                        V_GRAD_CASE(1) V_GRAD_CASE(2) V_GRAD_CASE(3) V_GRAD_CASE(4) V_GRAD_CASE(5)
                        V_GRAD_CASE(6) V_GRAD_CASE(7) V_GRAD_CASE(8) V_GRAD_CASE(9)
                        default: break;
                    }
                }
                for (long r = 0; r < rows; r++)
                    for (int t = 0; t < tapCount; t++)
                        dw[((o0 + r) * inChannels + i) * tapCount + t] += sums[r * AIMCLR_DIRECT_MAX_TAPS + t];
            }
        }
    }
    free(edgeMasks);
}

#undef V_GRAD_CASE
#undef V_TILE_P
#undef FN
#undef V_CAT
#undef V_CAT2
