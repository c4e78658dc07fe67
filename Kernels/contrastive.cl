// MoCo logits pieces around the CLBlast GEMM, NNM top-k positives and the queue update.

/// logits[b·ld] = (q_b · k_b)·invTau; one work-group per row.
__kernel void row_dot_scaled(__global const float* q, __global const float* k, __global float* logits,
                             const int D, const int ld, const float invTau, __local float* s) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    float acc = 0.0f;
    for (int d = lid; d < D; d += wg) acc += q[(long)b * D + d] * k[(long)b * D + d];
    acc = group_sum(acc, s);
    if (lid == 0) logits[(long)b * ld] = acc * invTau;
}

/// dq[b, d] += dLogits[b·ld]·k[b, d]·invTau.
__kernel void add_positive_grad(__global float* dq, __global const float* dLogits, __global const float* k,
                                const int B, const int D, const int ld, const float invTau) {
    const int i = get_global_id(0);
    if (i >= B * D) return;
    const int b = i / D;
    dq[i] += dLogits[(long)b * ld] * k[i] * invTau;
}

/// mask[b, j] = 1 for j == 0, else 0.
__kernel void nnm_init(__global float* mask, const int cols, const int n) {
    const int i = get_global_id(0);
    if (i < n) mask[i] = (i % cols == 0) ? 1.0f : 0.0f;
}

/// Order used for top-k: larger value first, equal values by smaller column first.
inline int nnm_before(float va, int ja, float vb, int jb) {
    if (ja < 0) return 0;
    if (jb < 0) return 1;
    return va > vb || (va == vb && ja < jb);
}

/// Marks the topK largest of sim[b, 1 ..< cols] in mask[b, ·]; one work-group per row.
/// Round r selects the best element that comes after round r−1's pick in the order above,
/// so k rounds cost O(k·cols) and need no per-row list.
__kernel void nnm_topk(__global const float* sim, __global float* mask, const int cols, const int topK,
                       __local float* sv, __local int* sj) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* row = sim + (long)b * cols;
    float prevV = INFINITY;
    int prevJ = -1;
    for (int r = 0; r < topK; ++r) {
        float bv = 0.0f;
        int bj = -1;
        for (int j = 1 + lid; j < cols; j += wg) {
            const float v = row[j];
            if (isnan(v)) continue;  // NaNs are never selected
            const int after = r == 0 || v < prevV || (v == prevV && j > prevJ);
            if (after && nnm_before(v, j, bv, bj)) { bv = v; bj = j; }
        }
        sv[lid] = bv; sj[lid] = bj;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int off = wg >> 1; off > 0; off >>= 1) {
            if (lid < off && nnm_before(sv[lid + off], sj[lid + off], sv[lid], sj[lid])) {
                sv[lid] = sv[lid + off]; sj[lid] = sj[lid + off];
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        prevV = sv[0];
        prevJ = sj[0];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (prevJ < 0) break;
        if (lid == 0) mask[(long)b * cols + prevJ] = 1.0f;
    }
}

/// queue[d, (ptr + b) mod K] = keys[b, d].
__kernel void enqueue_keys(__global const float* keys, __global float* queue, const int B, const int D,
                           const int K, const int ptr) {
    const int i = get_global_id(0);
    if (i >= B * D) return;
    const int b = i / D;
    const int d = i % D;
    queue[(long)d * K + (ptr + b) % K] = keys[i];
}
