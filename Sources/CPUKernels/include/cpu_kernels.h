#ifndef AIMCLR_CPU_KERNELS_H
#define AIMCLR_CPU_KERNELS_H

/// Vectorised kernels for the CPU backend's shapes that OpenBLAS runs poorly.
///
/// Direct (implicit-GEMM) kernels for the temporal convolution on channel-major activations
/// (C, N, T, V): a shift of k frames is a shift of k·V in a sample's T·V plane, so the kernels
/// read the input in place instead of building im2col columns. The adjacency products of the
/// graph convolution. Per-channel sums in Double.
///
/// Every kernel has three paths: AVX-512F (16 lanes), AVX2+FMA (8 lanes) and portable C. Each
/// call takes the best path this CPU runs, capped by `aimclr_set_isa_cap` or the environment
/// variable AIMCLR_CPU_ISA (portable, avx2 or avx512), so every path can be tested and timed on
/// a machine that has the highest one.

/// The kernels' vector paths, lowest first.
#define AIMCLR_ISA_PORTABLE 0
#define AIMCLR_ISA_AVX2 1
#define AIMCLR_ISA_AVX512 2

/// The best path this CPU runs: AVX512 with AVX-512F + BMI2, AVX2 with AVX2 + FMA + BMI2, else PORTABLE.
int aimclr_isa_available(void);

/// The path the kernels take now: the available one, lowered to the cap when one is set.
int aimclr_isa(void);

/// Caps the path (AIMCLR_ISA_*; −1 removes the cap). Not thread-safe against running kernels:
/// tests and start-up only.
void aimclr_set_isa_cap(int isa);

/// The cap in force (−1: none), read from AIMCLR_CPU_ISA on first use.
int aimclr_isa_cap(void);

/// AIMCLR_ISA_* for "portable", "avx2", "avx512"; −1 for anything else (NULL included).
int aimclr_parse_isa(const char *name);

/// 1 when the CPU runs AVX-512F and BMI2, else 0.
int aimclr_avx512_available(void);

/// 1 when the kernels currently take their AVX-512 path.
int aimclr_use_avx512(void);

/// e[i] = exp(x[i] − shift) for i < n (e may be NULL: not stored); returns Σ e[i] in Double.
/// For a finite shift ≥ every x[i] (the softmax's max): exp(−∞) is 0, a NaN x gives a NaN e[i]
/// and a NaN sum. Every path (AVX2 and AVX-512 give the same bits).
double aimclr_exp_sum(const float *x, long n, float shift, float *e);

/// Most taps one direct-kernel call takes (a 9-frame kernel at stride 1).
#define AIMCLR_DIRECT_MAX_TAPS 9

/// A per-channel epilogue applied as an output is written (Compute's `ChannelEpilogue`):
/// y[c, p] = act(scale[c]·v + shift[c] + residualScale[c]·residual[c, p]), the residual laid out
/// like y (NULL: none), residualScale NULL meaning 1, act = ReLU when relu ≠ 0.
typedef struct {
    const float *scale, *shift, *residual, *residualScale;
    int relu;
} AimclrEpilogue;

/// y[i] = act(scale·v[i] + shift + rscale·res[i]) for i < n (res may be NULL); y may be v.
/// Every path.
void aimclr_epilogue_row(const float *v, long n, float scale, float shift, const float *res, float rscale, int relu,
                         float *y);

/// Packs a kernel-K weight for `aimclr_tconv_direct`: packed[(i·K + k)·Opad + o] with Opad = O
/// rounded up to 8 and zeros in the padding.
/// `transpose` = 0: weight is (O, I, K) (a forward: O = Cout, I = Cin).
/// `transpose` = 1: weight is (I, O, K) (an input gradient: O = Cin, I = Cout).
void aimclr_tconv_pack_weight(const float *weight, int outChannels, int inChannels, int kernel, int transpose,
                              float *packed);

/// Floats `aimclr_tconv_pack_weight` writes.
long aimclr_tconv_packed_count(int outChannels, int inChannels, int kernel);

/// y[o, b, q] (=|+=) Σ_i Σ_k packed[i, k, o] · x[i, b, q + shifts[k]], the input taken as zero
/// outside the sample's plane [0, plane), for the samples b in [sampleBegin, sampleEnd). Channel
/// rows are batch·plane apart. taps ≤ AIMCLR_DIRECT_MAX_TAPS.
/// mode 0: overwrite; 1: overwrite starting from bias[o]; 2: add to y. A non-NULL epilogue
/// (modes 0 and 1) is applied to the sums as they are stored.
void aimclr_tconv_direct(const float *x, int inChannels, int batch, int plane, const long *shifts, int taps,
                         const float *packed, int outChannels, const float *bias, int mode,
                         const AimclrEpilogue *epilogue, float *y, int sampleBegin, int sampleEnd);

/// dw[o, i, k] += Σ_b Σ_q dy[o, b, q] · x[i, b, q + shifts[k]] (zero outside the plane) over
/// [sampleBegin, sampleEnd), dw laid out (O, I, tapCount): the weight gradient of
/// `aimclr_tconv_direct`. Works in blocks of whole samples whose planes take about `blockBytes`.
void aimclr_tconv_weight_grad(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                              int plane, const long *shifts, int tapCount, float *dw, int sampleBegin, int sampleEnd,
                              long blockBytes);

/// Largest joint count the adjacency kernels take (two 16-lane vectors per row).
#define AIMCLR_GRAPH_MAX_JOINTS 32

/// y[r, :] (=|+=) Σ_p a_p[r, :] · m_p for the rows r in [rowBegin, rowEnd): the inputs
/// a_p = a + p·aStride are (rows, V) row-major, m holds `parts` V×V matrices, y is (rows, V).
/// `accumulate` = 0 overwrites y. V ≤ AIMCLR_GRAPH_MAX_JOINTS.
void aimclr_graph_mix(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
                      float *y, long rowBegin, long rowEnd);

/// out_p(V, V) += a_pᵀ · g_p for p < parts over the rows [rowBegin, rowEnd), with a_p = a + p·aStride
/// and g_p = g + p·gStride, both (rows, V) row-major (a stride of 0 shares one matrix), and
/// out_p = out + p·V·V.
void aimclr_graph_mix_grad(const float *a, long aStride, const float *g, long gStride, int parts, int joints,
                           long rowBegin, long rowEnd, float *out);

/// dst[r·dstStride + j] = src[r·srcStride + j] for r < rows, j < width: the short rows of a
/// permute that keeps the innermost dimension (one or two masked vectors per row when width ≤ 32
/// and a vector path is taken, else memcpy).
void aimclr_copy_rows(const float *src, long srcStride, float *dst, long dstStride, long rows, long width);

/// Σx and Σx² in Double over n floats (every path).
void aimclr_sum_and_squares(const float *x, long n, double *sum, double *squares);

/// Σg and Σg·x̂ in Double with x̂ = (x − mean)·invStd computed in float (batch-norm backward).
void aimclr_sum_and_normalized_dot(const float *g, const float *x, long n, float mean, float invStd,
                                   double *sumG, double *sumGXhat);

/// Σx in Double.
double aimclr_sum(const float *x, long n);

/// EADM's SimAM attention of one (T·V) plane f: att = σ((f − μ)²/(4(σ̂² + λ)) + 1/2) with μ and
/// the unbiased variance σ̂² in Double; returns how many att < threshold.
long aimclr_eadm_attention(const float *f, long n, float lambda, float threshold, float *att);

/// Dropout of the whole Philox blocks b in [blockBegin, blockEnd) (elements 4b … 4b + 3), in
/// groups of 16 blocks (AVX-512) or 8 (AVX2): y = x·scale where (word >> 8) ≥ cut, else 0, words
/// from Philox-4x32-10 with counter (b, stream, step, 0) and key (key0, key1); mask[b] (if not
/// NULL) gets bit j set when element 4b + j is kept. Returns the first block not processed (a
/// partial group, and everything on the portable path, is left to the caller).
long aimclr_dropout_philox(long blockBegin, long blockEnd, unsigned stream, unsigned step, unsigned key0,
                           unsigned key1, unsigned cut, float scale, const float *x, float *y,
                           unsigned char *mask);

/// out[r·ldo + i] (+)= Σ_k m[r·inner + k]·in[k·ldi + i] for r < rows, i < n: a small row-major
/// left matrix against strided rows (accumulate ≠ 0 adds to out, else overwrites it). Sums in
/// k order on every path (AVX2 and AVX-512 with FMA).
void aimclr_small_matmul(const float *m, long rows, long inner, const float *in, long ldi,
                         float *out, long ldo, long n, int accumulate);

#endif
