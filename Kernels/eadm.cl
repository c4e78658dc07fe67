// Energy-based attention drop (EADM) over F (C, N, T, V) channel-major.
// Per (c, n) plane: μ, σ̂² = Σ(F−μ)²/(T·V−1); Att = sigmoid((F−μ)²/(4(σ̂²+λ)) + 0.5).
// Spatial mask m_s[n, v] = (mean_{c,t} Att < τ); element mask m_t = (Att < τ).
// Scale = m_s·m_t·f1·f2 with batch-global f1 = N·V/Σm_s and f2 = numel/Σm_t.

/// Att = sigmoid((x − μ)²·inv4 + 0.5) with inv4 = 1/(4(σ̂² + λ)), rounded as the CPU backend does.
inline float eadm_att(const float x, const float mu, const float var, const float lambda) {
    const float inv4 = 1.0f / (4.0f * (var + lambda));
    const float d = x - mu;
    const float yv = d * d * inv4 + 0.5f;
    return 1.0f / (1.0f + exp(-yv));
}

/// One work-group per plane p = c·N + n: μ and σ̂² of the plane, att = Att (in the `scale`
/// tensor, overwritten by eadm_apply) and kept[p] = #{Att < τ}.
__kernel void eadm_plane_stats(__global const float* x, const int plane, const float lambda,
                               const float tau, __global float* att, __global int* kept,
                               __local float* s, __local int* si) {
    const int p = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* xp = x + (long)p * plane;
    float acc = 0.0f;
    for (int i = lid; i < plane; i += wg) acc += xp[i];
    const float mu = group_sum(acc, s) / (float)plane;
    float m2 = 0.0f;
    for (int i = lid; i < plane; i += wg) { const float d = xp[i] - mu; m2 += d * d; }
    const float m2sum = group_sum(m2, s);  // outside the branch: barriers stay uniform
    const float var = plane > 1 ? m2sum / (float)(plane - 1) : 0.0f;
    int cnt = 0;
    __global float* ap = att + (long)p * plane;
    for (int i = lid; i < plane; i += wg) {
        const float a = eadm_att(xp[i], mu, var, lambda);
        ap[i] = a;
        cnt += a < tau ? 1 : 0;
    }
    cnt = group_sum_int(cnt, si);
    if (lid == 0) kept[p] = cnt;
}

/// One work-group per (n, v): spatial[n·V + v] = 1 if mean over (c, t) of Att < τ, else 0.
__kernel void eadm_spatial(__global const float* att, const int C, const int N, const int T, const int V,
                           const float tau, __global float* spatial, __local float* s) {
    const int g = get_group_id(0);
    const int n = g / V;
    const int v = g % V;
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    float acc = 0.0f;
    for (int i = lid; i < C * T; i += wg) {
        const int c = i / T;
        const int t = i % T;
        acc += att[((long)(c * N + n) * T + t) * V + v];
    }
    acc = group_sum(acc, s);
    if (lid == 0) spatial[g] = (acc / (float)(C * T)) >= tau ? 0.0f : 1.0f;
}

/// One work-group: factors[0] = N·V / Σ m_s, factors[1] = numel / Σ m_t (0 when nothing is kept).
__kernel void eadm_factors(__global const int* kept, const int planes, __global const float* spatial,
                           const int NV, const int numel, __global float* factors, __local int* si) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    int ce = 0;
    for (int i = lid; i < planes; i += wg) ce += kept[i];
    ce = group_sum_int(ce, si);
    int cs = 0;
    for (int i = lid; i < NV; i += wg) cs += spatial[i] != 0.0f ? 1 : 0;
    cs = group_sum_int(cs, si);
    if (lid == 0) {
        factors[0] = cs > 0 ? (float)NV / (float)cs : 0.0f;
        factors[1] = ce > 0 ? (float)numel / (float)ce : 0.0f;
    }
}

/// scale = m_s·m_t·f1·f2 (replacing the attention stored there) and y = x·scale,
/// elementwise (y may alias x).
__kernel void eadm_apply(__global const float* x, __global const float* spatial,
                         __global const float* factors, const int N, const int T, const int V,
                         const int count, const float tau, __global float* scale, __global float* y) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int v = i % V;
    const int p = i / (T * V);
    const int n = p % N;
    const float xv = x[i];
    const int keep = spatial[n * V + v] != 0.0f && scale[i] < tau;
    const float sc = keep ? factors[0] * factors[1] : 0.0f;
    scale[i] = sc;
    y[i] = xv * sc;
}
