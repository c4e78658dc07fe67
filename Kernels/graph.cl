// ST-GCN graph aggregation over K partitions with Â_k = A_k ⊙ E_k held in local memory.
// z is (K, R, V) with R = Cout·N·T rows; y and dy are (R, V).

/// y[r, j] = Σ_k Σ_i z[k, r, i] · Â_k(i, j). For the forward-only graph conv, hasBias adds the
/// channel mix's bias inside the sum (z then holds the mix without it), v = Σ_k Σ_i (z[k, r, i] +
/// b[k·Cout + c])·Â_k(i, j), and hasEpilogue stores relu?(v·scale[c] + shift[c] + residual[r, j]·
/// rscale[c]), with c = r / NT.
__kernel void graph_aggregate(__global const float* z, __global const float* A, __global const float* E,
                              __global const float* bias, __global float* y,
                              const int K, const int R, const int V, const int NT,
                              const int hasBias, const int hasEpilogue,
                              __global const float* scale, __global const float* shift,
                              __global const float* residual, __global const float* rscale,
                              const int hasResidual, const int hasResidualScale, const int relu,
                              __local float* ahat) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    for (int l = lid; l < K * V * V; l += wg) ahat[l] = A[l] * E[l];
    barrier(CLK_LOCAL_MEM_FENCE);
    const int i = get_global_id(0);
    if (i >= R * V) return;
    const int j = i % V;
    const int r = i / V;
    const int c = r / NT;
    const int cout = R / NT;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) {
        __global const float* zr = z + ((long)k * R + r) * V;
        __local const float* a = ahat + k * V * V;
        if (hasBias) {
            const float b = bias[k * cout + c];
            for (int s = 0; s < V; ++s) acc += (zr[s] + b) * a[s * V + j];
        } else {
            for (int s = 0; s < V; ++s) acc += zr[s] * a[s * V + j];
        }
    }
    if (hasEpilogue) {
        acc = acc * scale[c] + shift[c];
        if (hasResidual) acc += residual[i] * (hasResidualScale ? rscale[c] : 1.0f);
        if (relu) acc = fmax(acc, 0.0f);
    }
    y[i] = acc;
}

/// dz[k, r, i] = Σ_j dy[r, j] · Â_k(i, j).
__kernel void graph_aggregate_backward(__global const float* dy, __global const float* A,
                                       __global const float* E, __global float* dz,
                                       const int K, const int R, const int V, __local float* ahat) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    for (int l = lid; l < K * V * V; l += wg) ahat[l] = A[l] * E[l];
    barrier(CLK_LOCAL_MEM_FENCE);
    const int idx = get_global_id(0);
    if (idx >= K * R * V) return;
    const int i = idx % V;
    const int r = (idx / V) % R;
    const int k = idx / (V * R);
    __global const float* dyr = dy + (long)r * V;
    __local const float* a = ahat + k * V * V + i * V;
    float acc = 0.0f;
    for (int j = 0; j < V; ++j) acc += dyr[j] * a[j];
    dz[idx] = acc;
}

// ∂L/∂Â_k(i, j) = Σ_r z[k, r, i]·dy[r, j]: a reduction over R = Cout·N·T rows (hundreds of
// thousands) into only K·V·V outputs. A GEMM with m = n = V would leave most of a GPU idle, so
// work-group g reduces rows [g·chunk, (g+1)·chunk) through local-memory tiles into
// partial[g, ·], and `graph_dahat_finalize` sums the partials in a fixed order.
#define GRAPH_TILE_ROWS 32
#define GRAPH_MAX_OUT 16

__kernel void graph_dahat_partial(__global const float* z, __global const float* dy,
                                  const int K, const int R, const int V, const int chunk,
                                  __global float* partial, __local float* tile) {
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    const int kvv = K * V * V;
    __local float* tdy = tile;                          // GRAPH_TILE_ROWS × V
    __local float* tz = tile + GRAPH_TILE_ROWS * V;     // K × GRAPH_TILE_ROWS × V
    float acc[GRAPH_MAX_OUT];
    for (int u = 0; u < GRAPH_MAX_OUT; ++u) acc[u] = 0.0f;
    const int start = g * chunk;
    const int end = min(R, start + chunk);
    for (int r0 = start; r0 < end; r0 += GRAPH_TILE_ROWS) {
        const int rows = min(GRAPH_TILE_ROWS, end - r0);
        for (int l = lid; l < rows * V; l += wg) tdy[l] = dy[(long)r0 * V + l];
        for (int l = lid; l < K * rows * V; l += wg) {
            const int k = l / (rows * V);
            const int rem = l % (rows * V);
            tz[k * GRAPH_TILE_ROWS * V + rem] = z[((long)k * R + r0) * V + rem];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int u = 0; u < GRAPH_MAX_OUT; ++u) {
            const int o = lid + u * wg;
            if (o < kvv) {
                const int j = o % V;
                const int i = (o / V) % V;
                const int k = o / (V * V);
                __local const float* zc = tz + k * GRAPH_TILE_ROWS * V + i;
                float a = acc[u];
                for (int rr = 0; rr < rows; ++rr) a += zc[rr * V] * tdy[rr * V + j];
                acc[u] = a;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int u = 0; u < GRAPH_MAX_OUT; ++u) {
        const int o = lid + u * wg;
        if (o < kvv) partial[(long)g * kvv + o] = acc[u];
    }
}

/// dImportance[o] = (Σ_g partial[g, o])·A[o].
__kernel void graph_dahat_finalize(__global const float* partial, const int G, const int kvv,
                                   __global const float* A, __global float* dImportance) {
    const int o = get_global_id(0);
    if (o >= kvv) return;
    float s = 0.0f;
    for (int g = 0; g < G; ++g) s += partial[(long)g * kvv + o];
    dImportance[o] = s * A[o];
}
