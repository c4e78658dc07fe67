// Parameter updates, elementwise.

/// PyTorch SGD: d = g + wd·w; buf = momentum·buf + d (buf = d on the first step); w −= lr·buf,
/// or with `nesterov` w −= lr·(d + momentum·buf).
__kernel void sgd_step(__global float* w, __global const float* g, __global float* buf, const int n,
                       const float lr, const float momentum, const float weightDecay, const int firstStep,
                       const int nesterov) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float d = g[i] + weightDecay * w[i];
    const float b = firstStep ? d : momentum * buf[i] + d;
    buf[i] = b;
    w[i] = w[i] - lr * (nesterov ? d + momentum * b : b);
}

/// Momentum encoder: k = m·k + (1 − m)·q.
__kernel void momentum_update(__global float* k, __global const float* q, const int n, const float m) {
    const int i = get_global_id(0);
    if (i < n) k[i] = m * k[i] + (1.0f - m) * q[i];
}
