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

/// Direct temporal convolution (no im2col) for narrow layers: y[co, n, to, v] = b[co] +
/// Σ_ci Σ_k w[co, ci, k]·x[ci, n, to·stride + k − pad, v]. A work-group computes `tileFrames`
/// output frames of one sequence (one position per work-item) for TC_CO output channels; input
/// channels are staged TC_CI at a time in local memory, the input slab with its halo of frames and
/// the weights laid out [ci, k, co], so each staged value is read from global memory once.
/// Sums run over ci, then k, with fma; the bias is added last (hasBias 0: none), and with
/// accumulate the result adds to y (the input gradient, which is this convolution of dy with the
/// weights transposed and flipped in time). hasEpilogue applies an evaluation epilogue as each
/// output is stored: relu?(v·scale[co] + shift[co] + residual·rscale[co]).
// OpenCLDevice.directOutputChannels / directStagedInputs mirror these two.
#define TC_CO 16
#define TC_CI 8
__kernel void temporal_conv_direct(__global const float* x, __global const float* w, __global const float* b,
                                   __global float* y, const int C, const int N, const int T, const int V,
                                   const int kt, const int stride, const int pad, const int Tout,
                                   const int Cout, const int tileFrames, const int hasBias,
                                   const int accumulate, const int hasEpilogue,
                                   __global const float* scale, __global const float* shift,
                                   __global const float* residual, __global const float* rscale,
                                   const int hasResidual, const int hasResidualScale, const int relu,
                                   __local float* xs, __local float* ws) {
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    const int tiles = (Tout + tileFrames - 1) / tileFrames;
    const int n = get_group_id(0) / tiles;
    const int to0 = (get_group_id(0) % tiles) * tileFrames;
    const int co0 = get_group_id(1) * TC_CO;
    const int frames = min(tileFrames, Tout - to0);
    const int inFrames = (tileFrames - 1) * stride + kt;
    const int slab = inFrames * V;
    const int t0 = to0 * stride - pad;
    const int f = lid / V, v = lid % V;
    const int active = lid < frames * V;
    float acc[TC_CO];
    for (int j = 0; j < TC_CO; ++j) acc[j] = 0.0f;
    for (int c0 = 0; c0 < C; c0 += TC_CI) {
        const int cis = min(TC_CI, C - c0);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int l = lid; l < TC_CI * slab; l += wg) {
            const int ci = l / slab, r = l % slab;
            const int t = t0 + r / V;
            xs[l] = (ci < cis && t >= 0 && t < T) ? x[(((long)(c0 + ci) * N + n) * T + t) * V + r % V] : 0.0f;
        }
        for (int l = lid; l < TC_CI * kt * TC_CO; l += wg) {
            const int j = l % TC_CO, ck = l / TC_CO;
            const int ci = ck / kt, k = ck % kt;
            ws[l] = (ci < cis && co0 + j < Cout) ? w[((long)(co0 + j) * C + c0 + ci) * kt + k] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            for (int ci = 0; ci < cis; ++ci) {
                __local const float* xr = xs + ci * slab + f * stride * V + v;
                __local const float* wr = ws + ci * kt * TC_CO;
                for (int k = 0; k < kt; ++k) {
                    const float xv = xr[k * V];
                    for (int j = 0; j < TC_CO; ++j) acc[j] = fma(wr[k * TC_CO + j], xv, acc[j]);
                }
            }
        }
    }
    if (!active) return;
    for (int j = 0; j < TC_CO && co0 + j < Cout; ++j) {
        const int co = co0 + j;
        const long at = (((long)co * N + n) * Tout + to0 + f) * V + v;
        float r = hasBias ? acc[j] + b[co] : acc[j];
        if (hasEpilogue) {
            r = r * scale[co] + shift[co];
            if (hasResidual) r += residual[at] * (hasResidualScale ? rscale[co] : 1.0f);
            if (relu) r = fmax(r, 0.0f);
        }
        y[at] = accumulate ? y[at] + r : r;
    }
}

/// wt[ci, co, k] = w[co, ci, kt − 1 − k]: the weights of the input-gradient convolution.
__kernel void temporal_weight_flip(__global const float* w, __global float* wt,
                                   const int Cout, const int Cin, const int kt) {
    const int i = get_global_id(0);
    if (i >= Cout * Cin * kt) return;
    const int k = i % kt;
    const int co = (i / kt) % Cout;
    const int ci = i / (kt * Cout);
    wt[i] = w[((long)co * Cin + ci) * kt + kt - 1 - k];
}
