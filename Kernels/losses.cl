// Cross-entropy losses, one work-group per row. Per-row losses go to rowLoss; `mean_to_scalar`
// then writes their mean into the 1-element loss tensor, so nothing returns to the host.
// With hasGrad == 0 dLogits is not touched.

/// Row max and log-sum-exp of logits row `l` of length K.
inline void row_lse(__global const float* l, const int K, __local float* s, float* mx, float* lse) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    float m = -INFINITY;
    for (int j = lid; j < K; j += wg) m = fmax(m, l[j]);
    m = group_max(m, s);
    float acc = 0.0f;
    for (int j = lid; j < K; j += wg) acc += exp(l[j] - m);
    acc = group_sum(acc, s);
    *mx = m;
    *lse = m + log(acc);
}

__kernel void softmax_xent_rows(__global const float* logits, __global const float* labels,
                                const int K, const float gradScale, __global float* rowLoss,
                                __global float* dLogits, const int hasGrad, __local float* s) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* l = logits + (long)b * K;
    float m, lse;
    row_lse(l, K, s, &m, &lse);
    const int label = (int)labels[b];
    const int valid = label >= 0 && label < K;  // an out-of-range label gives NaN, never a stray read
    if (lid == 0) rowLoss[b] = valid ? lse - l[label] : NAN;
    if (hasGrad) {
        for (int j = lid; j < K; j += wg) {
            const float p = exp(l[j] - lse);
            dLogits[(long)b * K + j] = (p - (j == label ? 1.0f : 0.0f)) * gradScale;
        }
    }
}

/// Soft targets p = softmax(targetLogits): loss_b = Σ_j p_j·(lse − l_j).
__kernel void soft_xent_rows(__global const float* logits, __global const float* targetLogits,
                             const int K, const float gradScale, __global float* rowLoss,
                             __global float* dLogits, const int hasGrad, __local float* s) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* l = logits + (long)b * K;
    __global const float* t = targetLogits + (long)b * K;
    float m, lse, tm, tlse;
    row_lse(l, K, s, &m, &lse);
    row_lse(t, K, s, &tm, &tlse);
    float acc = 0.0f;
    for (int j = lid; j < K; j += wg) acc += exp(t[j] - tlse) * (lse - l[j]);
    acc = group_sum(acc, s);
    if (lid == 0) rowLoss[b] = acc;
    if (hasGrad) {
        for (int j = lid; j < K; j += wg)
            dLogits[(long)b * K + j] = (exp(l[j] - lse) - exp(t[j] - tlse)) * gradScale;
    }
}

/// Multi-positive: loss_b = −(1/|P_b|) Σ_{j∈P_b} (l_j − lse); rows without positives contribute 0.
__kernel void masked_xent_rows(__global const float* logits, __global const float* positives,
                               const int K, const float gradScale, __global float* rowLoss,
                               __global float* dLogits, const int hasGrad, __local float* s) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* l = logits + (long)b * K;
    __global const float* pm = positives + (long)b * K;
    float m, lse;
    row_lse(l, K, s, &m, &lse);
    float cnt = 0.0f, acc = 0.0f;
    for (int j = lid; j < K; j += wg) { cnt += pm[j]; acc += pm[j] * (lse - l[j]); }
    cnt = group_sum(cnt, s);
    acc = group_sum(acc, s);
    const float inv = cnt > 0.0f ? 1.0f / cnt : 0.0f;
    if (lid == 0) rowLoss[b] = acc * inv;
    if (hasGrad) {
        for (int j = lid; j < K; j += wg)
            dLogits[(long)b * K + j] = (exp(l[j] - lse) - pm[j] * inv) * gradScale;
    }
}

/// loss[0] = mean of rowLoss[0 ..< B] (one work-group).
__kernel void mean_to_scalar(__global const float* rowLoss, const int B, __global float* loss,
                             __local float* s) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    float acc = 0.0f;
    for (int i = lid; i < B; i += wg) acc += rowLoss[i];
    acc = group_sum(acc, s);
    if (lid == 0) loss[0] = acc / (float)B;
}
