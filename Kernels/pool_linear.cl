// Global average pooling over (persons, T·V) and row-wise L2 normalisation of embeddings.

/// y[n, c] = mean over m, p of x[c, n·M + m, p]; one work-group per (n, c).
__kernel void pool_forward(__global const float* x, __global float* y, const int C, const int S,
                           const int M, const int plane, __local float* s) {
    const int g = get_group_id(0);
    const int n = g / C;
    const int c = g % C;
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    const int len = M * plane;
    __global const float* xs = x + ((long)c * S * M + (long)n * M) * plane;
    float acc = 0.0f;
    for (int i = lid; i < len; i += wg) acc += xs[i];
    acc = group_sum(acc, s);
    if (lid == 0) y[n * C + c] = acc / (float)len;
}

/// dx[c, n·M + m, p] = dy[n, c] / (M·plane).
__kernel void pool_backward(__global const float* dy, __global float* dx, const int C, const int S,
                            const int M, const int plane) {
    const int i = get_global_id(0);
    if (i >= C * S * M * plane) return;
    const int row = i / plane;
    const int c = row / (S * M);
    const int n = (row % (S * M)) / M;
    dx[i] = dy[n * C + c] / (float)(M * plane);
}

/// y = x / max(‖x‖, eps) per row of x (B, D); one work-group per row.
__kernel void l2norm_forward(__global const float* x, __global float* y, const int D, const float eps,
                             __local float* s) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* xr = x + (long)b * D;
    float acc = 0.0f;
    for (int d = lid; d < D; d += wg) acc += xr[d] * xr[d];
    const float norm = sqrt(group_sum(acc, s));
    const float denom = fmax(norm, eps);
    for (int d = lid; d < D; d += wg) y[(long)b * D + d] = xr[d] / denom;
}

/// dx = (dy − y·(y·dy)) / ‖x‖ when ‖x‖ > eps, else dy / eps (the clamp is then constant).
__kernel void l2norm_backward(__global const float* x, __global const float* dy, __global float* dx,
                              const int D, const float eps, __local float* s) {
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* xr = x + (long)b * D;
    __global const float* gr = dy + (long)b * D;
    float sxx = 0.0f, sxg = 0.0f;
    for (int d = lid; d < D; d += wg) { sxx += xr[d] * xr[d]; sxg += xr[d] * gr[d]; }
    const float norm = sqrt(group_sum(sxx, s));
    const float xg = group_sum(sxg, s);
    for (int d = lid; d < D; d += wg) {
        float g;
        if (norm > eps) g = (gr[d] - xr[d] * xg / (norm * norm)) / norm;
        else g = gr[d] / eps;
        dx[(long)b * D + d] = g;
    }
}
