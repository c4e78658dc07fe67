// Deterministic reductions: fixed work-group trees, no atomics.

/// y[r, c] += b[r] over a (rows, cols) matrix (bias of a channel-major activation).
__kernel void add_bias_rows(__global float* y, __global const float* b, const int rows, const int cols) {
    const int i = get_global_id(0);
    if (i < rows * cols) y[i] += b[i / cols];
}

/// y[r, c] += b[c] over a (rows, cols) matrix (bias of a linear layer).
__kernel void add_bias_cols(__global float* y, __global const float* b, const int rows, const int cols) {
    const int i = get_global_id(0);
    if (i < rows * cols) y[i] += b[i % cols];
}

/// out[r] = Σ_c x[r, c]; one work-group per row.
__kernel void row_sums(__global const float* x, __global float* out, const int cols, __local float* s) {
    const int r = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* row = x + (long)r * cols;
    float acc = 0.0f;
    for (int c = lid; c < cols; c += wg) acc += row[c];
    acc = group_sum(acc, s);
    if (lid == 0) out[r] = acc;
}

/// First pass of long row sums: work-group (g, r) sums chunk g of row r into partial[r·G + g], so a
/// matrix with few, long rows (a bias gradient over N·T·V) still spreads over many work-groups.
__kernel void row_sums_partial(__global const float* x, const int cols, const int chunk, const int G,
                               __global float* partial, __local float* s) {
    const int g = get_group_id(0);
    const int r = get_group_id(1);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    __global const float* row = x + (long)r * cols;
    const int end = min(cols, (g + 1) * chunk);
    float acc = 0.0f;
    for (int c = g * chunk + lid; c < end; c += wg) acc += row[c];
    acc = group_sum(acc, s);
    if (lid == 0) partial[r * G + g] = acc;
}

/// out[c] = Σ_r x[r, c]; one work-item per column (neighbouring items read neighbouring addresses).
__kernel void col_sums(__global const float* x, __global float* out, const int rows, const int cols) {
    const int c = get_global_id(0);
    if (c >= cols) return;
    float acc = 0.0f;
    for (int r = 0; r < rows; ++r) acc += x[r * cols + c];
    out[c] = acc;
}

/// First pass of Σ x²: work-group g sums a contiguous chunk into partial[g].
__kernel void sum_squares_partial(__global const float* x, const int n, const int chunk,
                                  __global float* partial, __local float* s) {
    const int g = get_group_id(0);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    const int start = g * chunk;
    const int end = min(n, start + chunk);
    float acc = 0.0f;
    for (int i = start + lid; i < end; i += wg) acc += x[i] * x[i];
    acc = group_sum(acc, s);
    if (lid == 0) partial[g] = acc;
}

/// Second pass: out[0] = Σ partial (one work-group).
__kernel void sum_partials(__global const float* partial, const int count, __global float* out,
                           __local float* s) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    float acc = 0.0f;
    for (int i = lid; i < count; i += wg) acc += partial[i];
    acc = group_sum(acc, s);
    if (lid == 0) out[0] = acc;
}

/// Second pass of a split-K GEMM: c[i·ldc + j] = alpha·Σ_s partial[s, i, j] + beta·c[i·ldc + j],
/// the S partial products summed in order (beta 0 never reads c, which may hold garbage).
__kernel void splitk_sum(__global const float* partial, const int S, const int m, const int n,
                         __global float* c, const int cOffset, const int ldc,
                         const float alpha, const float beta) {
    const int idx = get_global_id(0);
    if (idx >= m * n) return;
    const long plane = (long)m * n;
    float s = 0.0f;
    for (int p = 0; p < S; ++p) s += partial[p * plane + idx];
    __global float* out = c + cOffset + (long)(idx / n) * ldc + idx % n;
    *out = beta == 0.0f ? alpha * s : alpha * s + beta * *out;
}
