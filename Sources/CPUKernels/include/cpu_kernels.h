#ifndef AIMCLR_CPU_KERNELS_H
#define AIMCLR_CPU_KERNELS_H

/// AVX-512 kernels for the CPU backend's shapes that OpenBLAS runs poorly.
///
/// Direct (implicit-GEMM) kernels for the stride-1 temporal convolution on channel-major
/// activations (C, N, T, V): a shift of k frames is a shift of k·V in a sample's T·V plane,
/// so the kernels read the input in place instead of building im2col columns.
///
/// The convolution kernels need AVX-512F; call `aimclr_avx512_available()` first. The
/// channel sums pick AVX-512 or portable C themselves.

/// 1 when the CPU runs AVX-512F (the kernels' instruction set), else 0.
int aimclr_avx512_available(void);

/// Largest kernel size the direct kernels take.
#define AIMCLR_DIRECT_MAX_KERNEL 9

/// Packs a (O, I, K) weight for `aimclr_tconv_direct`: packed[(i·K + k)·Opad + o] with
/// Opad = O rounded up to 8 and zeros in the padding.
/// `transpose` = 0: weight is (O, I, K) (the forward: O = Cout, I = Cin).
/// `transpose` = 1: weight is (I, O, K) and the kernel is flipped in time, which turns the
/// convolution into its adjoint (the input gradient: O = Cin, I = Cout).
void aimclr_tconv_pack_weight(const float *weight, int outChannels, int inChannels, int kernel,
                              int transpose, float *packed);

/// Floats `aimclr_tconv_pack_weight` writes.
long aimclr_tconv_packed_count(int outChannels, int inChannels, int kernel);

/// y[o, b, :] (=|+=) Σ_i Σ_k packed[i, k, o] · x[i, b, p + (k − pad)·V] (zero outside the
/// sample's plane) for the samples b in [sampleBegin, sampleEnd), stride 1, pad = (K−1)/2.
/// `plane` = T·V, `batch` = N (channel rows are N·plane apart).
/// mode 0: overwrite; 1: overwrite starting from bias[o]; 2: add to y.
void aimclr_tconv_direct(const float *x, int inChannels, int batch, int plane, int joints, int kernel,
                         const float *packed, int outChannels, const float *bias, int mode, float *y,
                         int sampleBegin, int sampleEnd);

/// dw[o, i, k] += Σ_b Σ_p dy[o, b, p] · x[i, b, p + (k − pad)·V] over [sampleBegin, sampleEnd)
/// (the weight gradient of `aimclr_tconv_direct` with a (O, I, K) weight), in blocks of whole
/// samples whose input and output-gradient planes take about `blockBytes` (at least one sample).
void aimclr_tconv_weight_grad(const float *x, int inChannels, const float *dy, int outChannels, int batch,
                              int plane, int joints, int kernel, float *dw, int sampleBegin, int sampleEnd,
                              long blockBytes);

/// Largest joint count the adjacency kernels take (two 16-lane vectors per row).
#define AIMCLR_GRAPH_MAX_JOINTS 32

/// y[r, :] (=|+=) Σ_p a_p[r, :] · m_p for the rows r in [rowBegin, rowEnd): the inputs
/// a_p = a + p·aStride are (rows, V) row-major, m holds `parts` V×V matrices, y is (rows, V).
/// `accumulate` = 0 overwrites y. V ≤ AIMCLR_GRAPH_MAX_JOINTS.
void aimclr_graph_mix(const float *a, long aStride, int parts, const float *m, int joints, int accumulate,
                      float *y, long rowBegin, long rowEnd);

/// out(V, V) += aᵀ · g over the rows [rowBegin, rowEnd) of a and g, both (rows, V) row-major.
void aimclr_graph_mix_grad(const float *a, const float *g, int joints, long rowBegin, long rowEnd, float *out);

/// Σx and Σx² in Double over n floats (AVX-512 when present, else portable C).
void aimclr_sum_and_squares(const float *x, long n, double *sum, double *squares);

/// Σg and Σg·x̂ in Double with x̂ = (x − mean)·invStd computed in float (batch-norm backward).
void aimclr_sum_and_normalized_dot(const float *g, const float *x, long n, float mean, float invStd,
                                   double *sumG, double *sumGXhat);

/// Σx in Double.
double aimclr_sum(const float *x, long n);

#endif
