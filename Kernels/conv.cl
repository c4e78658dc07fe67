// Temporal and 1x1 convolutions on channel-major (C, N, T, V) activations.
// The GEMMs run in CLBlast; these kernels reshape data around them.

/// columns[ci·kt + k, (n, to, v)] = x[ci, n, to·stride + k − pad, v], zero outside [0, T).
__kernel void im2col_temporal(__global const float* x, __global float* cols,
                              const int C, const int N, const int T, const int V,
                              const int kt, const int stride, const int pad, const int Tout) {
    const int i = get_global_id(0);
    const int Q = N * Tout * V;
    if (i >= C * kt * Q) return;
    const int q = i % Q;
    const int r = i / Q;
    const int v = q % V;
    const int to = (q / V) % Tout;
    const int n = q / (V * Tout);
    const int ci = r / kt;
    const int k = r % kt;
    const int t = to * stride + k - pad;
    cols[i] = (t >= 0 && t < T) ? x[((ci * N + n) * T + t) * V + v] : 0.0f;
}

/// Gather form of col2im: each dx element sums the column entries that read it, so no two
/// work-items write the same address (deterministic, no atomics).
__kernel void col2im_temporal(__global const float* dcols, __global float* dx,
                              const int C, const int N, const int T, const int V,
                              const int kt, const int stride, const int pad, const int Tout,
                              const int accumulate) {
    const int i = get_global_id(0);
    if (i >= C * N * T * V) return;
    const int v = i % V;
    const int t = (i / V) % T;
    const int n = (i / (V * T)) % N;
    const int ci = i / (V * T * N);
    const int Q = N * Tout * V;
    float acc = 0.0f;
    for (int k = 0; k < kt; ++k) {
        const int tt = t + pad - k;
        if (tt < 0 || tt % stride != 0) continue;
        const int to = tt / stride;
        if (to >= Tout) continue;
        acc += dcols[(ci * kt + k) * Q + (n * Tout + to) * V + v];
    }
    dx[i] = accumulate ? dx[i] + acc : acc;
}

/// xs[r, to, v] = x[r, to·stride, v] for r over C·N (input of a strided 1x1 convolution).
__kernel void gather_frames(__global const float* x, __global float* xs,
                            const int rows, const int T, const int V, const int stride, const int Tout) {
    const int i = get_global_id(0);
    if (i >= rows * Tout * V) return;
    const int v = i % V;
    const int to = (i / V) % Tout;
    const int r = i / (V * Tout);
    xs[i] = x[(r * T + to * stride) * V + v];
}

/// Gradient of gather_frames: frames skipped by the stride get zero (or keep dx with accumulate).
__kernel void scatter_frames(__global const float* dxs, __global float* dx,
                             const int rows, const int T, const int V, const int stride, const int Tout,
                             const int accumulate) {
    const int i = get_global_id(0);
    if (i >= rows * T * V) return;
    const int v = i % V;
    const int t = (i / V) % T;
    const int r = i / (V * T);
    float g = 0.0f;
    if (t % stride == 0 && t / stride < Tout) g = dxs[(r * Tout + t / stride) * V + v];
    dx[i] = accumulate ? dx[i] + g : g;
}
