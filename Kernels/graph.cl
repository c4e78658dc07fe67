// ST-GCN graph aggregation over K partitions with Â_k = A_k ⊙ E_k held in local memory.
// z is (K, R, V) with R = Cout·N·T rows; y and dy are (R, V).

/// y[r, j] = Σ_k Σ_i z[k, r, i] · Â_k(i, j).
__kernel void graph_aggregate(__global const float* z, __global const float* A, __global const float* E,
                              __global float* y, const int K, const int R, const int V,
                              __local float* ahat) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    for (int l = lid; l < K * V * V; l += wg) ahat[l] = A[l] * E[l];
    barrier(CLK_LOCAL_MEM_FENCE);
    const int i = get_global_id(0);
    if (i >= R * V) return;
    const int j = i % V;
    const int r = i / V;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) {
        __global const float* zr = z + ((long)k * R + r) * V;
        __local const float* a = ahat + k * V * V;
        for (int s = 0; s < V; ++s) acc += zr[s] * a[s * V + j];
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
