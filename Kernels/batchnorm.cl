// Batch norm over a channel-major (C, P) tensor. Statistics are reduced in two passes:
// work-group (g, c) reduces chunk g of channel c to (sum, M2 about the chunk mean), then one
// work-item per channel merges the chunks with Chan's formula. Deterministic and accurate
// without a wide accumulator, and it keeps many work-groups busy on a GPU.

__kernel void bn_partial_stats(__global const float* x, const int P, const int chunk, const int G,
                               __global float* partial, __local float* s) {
    const int g = get_group_id(0);
    const int c = get_group_id(1);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    const int start = g * chunk;
    const int end = min(P, start + chunk);
    __global const float* xc = x + (long)c * P;
    float acc = 0.0f;
    for (int i = start + lid; i < end; i += wg) acc += xc[i];
    const float sum = group_sum(acc, s);
    const float mean = sum / (float)max(end - start, 1);
    float m2 = 0.0f;
    for (int i = start + lid; i < end; i += wg) { const float d = xc[i] - mean; m2 += d * d; }
    m2 = group_sum(m2, s);
    if (lid == 0) { partial[(c * G + g) * 2] = sum; partial[(c * G + g) * 2 + 1] = m2; }
}

/// Merges the chunks of each channel; stores mean and 1/sqrt(var + eps), updates running stats
/// (biased variance normalises, unbiased variance goes into the running estimate, as in PyTorch).
__kernel void bn_finalize_stats(__global const float* partial, const int C, const int G,
                                const int P, const int chunk, const float momentum, const float eps,
                                __global float* runningMean, __global float* runningVar,
                                __global float* savedMean, __global float* savedInvStd) {
    const int c = get_global_id(0);
    if (c >= C) return;
    float total = 0.0f;
    for (int g = 0; g < G; ++g) total += partial[(c * G + g) * 2];
    const float mean = total / (float)P;
    float m2 = 0.0f;
    for (int g = 0; g < G; ++g) {
        const int cnt = min(P, (g + 1) * chunk) - g * chunk;
        const float d = partial[(c * G + g) * 2] / (float)cnt - mean;
        m2 += partial[(c * G + g) * 2 + 1] + (float)cnt * d * d;
    }
    const float var = m2 / (float)P;
    const float unbiased = P > 1 ? m2 / (float)(P - 1) : var;
    savedMean[c] = mean;
    savedInvStd[c] = 1.0f / sqrt(var + eps);
    runningMean[c] = (1.0f - momentum) * runningMean[c] + momentum * mean;
    runningVar[c] = (1.0f - momentum) * runningVar[c] + momentum * unbiased;
}

__kernel void bn_eval_stats(__global const float* runningMean, __global const float* runningVar,
                            const int C, const float eps,
                            __global float* savedMean, __global float* savedInvStd) {
    const int c = get_global_id(0);
    if (c >= C) return;
    savedMean[c] = runningMean[c];
    savedInvStd[c] = 1.0f / sqrt(runningVar[c] + eps);
}

/// y = (x − mean)·invstd·gamma + beta, then max(y, 0) when relu != 0.
__kernel void bn_apply(__global const float* x, __global float* y,
                       __global const float* mean, __global const float* invStd,
                       __global const float* gamma, __global const float* beta, const int C, const int P,
                       const int relu) {
    const int i = get_global_id(0);
    if (i >= C * P) return;
    const int c = i / P;
    const float v = (x[i] - mean[c]) * invStd[c] * gamma[c] + beta[c];
    y[i] = relu ? fmax(v, 0.0f) : v;
}

/// Chunk sums of dy and dy·x̂ (x̂ = (x − mean)·invstd).
__kernel void bn_partial_grad(__global const float* x, __global const float* dy,
                              __global const float* mean, __global const float* invStd,
                              const int P, const int chunk, const int G,
                              __global float* partial, __local float* s) {
    const int g = get_group_id(0);
    const int c = get_group_id(1);
    const int lid = get_local_id(0);
    const int wg = get_local_size(0);
    const int start = g * chunk;
    const int end = min(P, start + chunk);
    const long base = (long)c * P;
    const float m = mean[c];
    const float is = invStd[c];
    float sdy = 0.0f, sdyx = 0.0f;
    for (int i = start + lid; i < end; i += wg) {
        const float d = dy[base + i];
        sdy += d;
        sdyx += d * ((x[base + i] - m) * is);
    }
    sdy = group_sum(sdy, s);
    sdyx = group_sum(sdyx, s);
    if (lid == 0) { partial[(c * G + g) * 2] = sdy; partial[(c * G + g) * 2 + 1] = sdyx; }
}

/// dBeta = Σ dy, dGamma = Σ dy·x̂ from the chunk partials.
__kernel void bn_finalize_grad(__global const float* partial, const int C, const int G,
                               __global float* dGamma, __global float* dBeta) {
    const int c = get_global_id(0);
    if (c >= C) return;
    float sdy = 0.0f, sdyx = 0.0f;
    for (int g = 0; g < G; ++g) { sdy += partial[(c * G + g) * 2]; sdyx += partial[(c * G + g) * 2 + 1]; }
    dBeta[c] = sdy;
    dGamma[c] = sdyx;
}

/// Training-mode input gradient: dx = gamma·invstd·(dy − dBeta/P − x̂·dGamma/P).
__kernel void bn_backward_train(__global const float* x, __global const float* dy, __global float* dx,
                                __global const float* mean, __global const float* invStd,
                                __global const float* gamma, __global const float* dGamma,
                                __global const float* dBeta, const int C, const int P) {
    const int i = get_global_id(0);
    if (i >= C * P) return;
    const int c = i / P;
    const float xhat = (x[i] - mean[c]) * invStd[c];
    const float invP = 1.0f / (float)P;
    dx[i] = gamma[c] * invStd[c] * (dy[i] - dBeta[c] * invP - xhat * dGamma[c] * invP);
}

/// Eval-mode input gradient: the statistics are constants, dx = dy·gamma·invstd.
__kernel void bn_backward_eval(__global const float* dy, __global float* dx, __global const float* invStd,
                               __global const float* gamma, const int C, const int P) {
    const int i = get_global_id(0);
    if (i >= C * P) return;
    const int c = i / P;
    dx[i] = dy[i] * gamma[c] * invStd[c];
}

/// An inference-mode batch norm as scale = γ·(1/√(var + ε)), shift = β − mean·scale.
__kernel void bn_inference_affine(__global const float* gamma, __global const float* beta,
                                  __global const float* mean, __global const float* var, const int C,
                                  const float eps, __global float* scale, __global float* shift) {
    const int c = get_global_id(0);
    if (c >= C) return;
    const float s = gamma[c] * (1.0f / sqrt(var[c] + eps));
    scale[c] = s;
    shift[c] = beta[c] - mean[c] * s;
}

/// y = act(scale[c]·x + shift[c] + rscale[c]·residual) over (C, P); in place allowed.
/// hasResidual / hasResidualScale say whether those buffers are real (else ignored / 1).
__kernel void channel_epilogue(__global const float* x, __global float* y, __global const float* scale,
                               __global const float* shift, __global const float* residual,
                               __global const float* rscale, const int hasResidual, const int hasResidualScale,
                               const int relu, const int C, const int P) {
    const int i = get_global_id(0);
    if (i >= C * P) return;
    const int c = i / P;
    float v = x[i] * scale[c] + shift[c];
    if (hasResidual) v += residual[i] * (hasResidualScale ? rscale[c] : 1.0f);
    y[i] = relu ? fmax(v, 0.0f) : v;
}
