// Philox-4x32-10 and dropout. Must match Sources/Compute/Philox.swift bit for bit:
// element i uses output i % 4 of the block at counter (i / 4, stream, step, 0).

inline uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int r = 0; r < 10; ++r) {
        const uint lo0 = 0xD2511F53u * c.x;
        const uint hi0 = mul_hi(0xD2511F53u, c.x);
        const uint lo1 = 0xCD9E8D57u * c.z;
        const uint hi1 = mul_hi(0xCD9E8D57u, c.z);
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k.x += 0x9E3779B9u;
        k.y += 0xBB67AE85u;
    }
    return c;
}

/// 24 random bits to [0, 1), exact in float32.
inline float philox_unit(uint bits) { return (float)(bits >> 8) * (1.0f / 16777216.0f); }

/// The uniform draw of element i of a data-parallel rank's part of the batch (outer, samples,
/// inner), drawn at its index g in the whole batch (outer, globalSamples, inner): output g % 4
/// of the Philox block at counter (g / 4, stream, step, 0).
inline float slice_uniform(const int i, const uint key0, const uint key1, const uint stream, const uint step,
                           const int samples, const int globalSamples, const int offset, const int inner) {
    const long row = (long)samples * inner;
    const long o = i / row, rest = i - o * row;
    const long g = (o * globalSamples + offset) * inner + rest;
    const uint4 r = philox4x32_10((uint4)((uint)(g / 4), stream, step, 0u), (uint2)(key0, key1));
    const int w = (int)(g % 4);
    return philox_unit(w == 0 ? r.x : (w == 1 ? r.y : (w == 2 ? r.z : r.w)));
}

/// The uniform draws of elements 4b ..< 4b+4 (one Philox block).
inline float4 block_uniforms(const int b, const uint key0, const uint key1, const uint stream, const uint step) {
    const uint4 r = philox4x32_10((uint4)((uint)b, stream, step, 0u), (uint2)(key0, key1));
    return convert_float4(r >> 8) * (1.0f / 16777216.0f);
}

/// Inverted dropout: work-item b handles elements 4b ..< 4b+4 (one Philox block) with one
/// 16-byte load and store. y = x·scale where uniform >= p, else 0 (also for x = ±inf/NaN).
/// Used for the backward too (x = dy). y may alias x.
__kernel void dropout_apply(__global const float* x, __global float* y, const int n, const float p,
                            const float scale, const uint key0, const uint key1,
                            const uint stream, const uint step) {
    const int b = get_global_id(0);
    const int i0 = b * 4;
    if (i0 >= n) return;
    const int4 keep = isgreaterequal(block_uniforms(b, key0, key1, stream, step), (float4)(p));
    if (i0 + 4 <= n) {
        const float4 xv = vload4(b, x);
        vstore4(select((float4)(0.0f), xv * scale, keep), b, y);
    } else {
        if (i0 < n) y[i0] = keep.x ? x[i0] * scale : 0.0f;
        if (i0 + 1 < n) y[i0 + 1] = keep.y ? x[i0 + 1] * scale : 0.0f;
        if (i0 + 2 < n) y[i0 + 2] = keep.z ? x[i0 + 2] * scale : 0.0f;
    }
}

/// Dropout of a data-parallel rank's part of the batch with the whole batch's mask: the tensor
/// is (outer, samples, inner), the whole batch's (outer, globalSamples, inner) with this part at
/// sample `offset`; element i draws the Philox word of its global element index (see
/// Sources/Compute/DropoutSampleSlice.swift). One work-item per element. y may alias x.
__kernel void dropout_apply_slice(__global const float* x, __global float* y, const int n, const float p,
                                  const float scale, const uint key0, const uint key1,
                                  const uint stream, const uint step, const int samples,
                                  const int globalSamples, const int offset, const int inner) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float u = slice_uniform(i, key0, key1, stream, step, samples, globalSamples, offset, inner);
    y[i] = u >= p ? x[i] * scale : 0.0f;
}

// The end of a training block in one pass (Sources/Compute/Device.swift, dropoutResidualReLU and
// reluDropoutBackward). Each rounds as the ops it replaces (dropout, residual sum, ReLU), so the
// contraction of x·scale + r into one FMA is switched off.

/// y = max(dropout(x) + r, 0); without a residual (hasResidual 0, r unused) max(dropout(x), 0).
/// Work-item b handles elements 4b ..< 4b+4 (one Philox block) with 16-byte loads and stores,
/// as dropout_apply. y may alias x.
__kernel void dropout_residual_relu(__global const float* x, __global const float* r, __global float* y, const int n,
                                    const int hasResidual, const float p, const float scale, const uint key0,
                                    const uint key1, const uint stream, const uint step) {
    #pragma OPENCL FP_CONTRACT OFF
    const int b = get_global_id(0);
    const int i0 = b * 4;
    if (i0 >= n) return;
    const float4 u = block_uniforms(b, key0, key1, stream, step);
    if (i0 + 4 <= n) {
        const float4 d = select((float4)(0.0f), vload4(b, x) * scale, isgreaterequal(u, (float4)(p)));
        vstore4(fmax(hasResidual ? d + vload4(b, r) : d, (float4)(0.0f)), b, y);
        return;
    }
    const float us[4] = { u.x, u.y, u.z, u.w };
    for (int i = i0; i < n; ++i) {
        const float d = us[i - i0] >= p ? x[i] * scale : 0.0f;
        y[i] = fmax(hasResidual ? d + r[i] : d, 0.0f);
    }
}

/// As dropout_residual_relu for a rank's part of the batch (see dropout_apply_slice); one
/// work-item per element.
__kernel void dropout_residual_relu_slice(__global const float* x, __global const float* r, __global float* y,
                                          const int n, const int hasResidual, const float p, const float scale,
                                          const uint key0, const uint key1, const uint stream, const uint step,
                                          const int samples, const int globalSamples, const int offset,
                                          const int inner) {
    #pragma OPENCL FP_CONTRACT OFF
    const int i = get_global_id(0);
    if (i >= n) return;
    const float u = slice_uniform(i, key0, key1, stream, step, samples, globalSamples, offset, inner);
    const float d = u >= p ? x[i] * scale : 0.0f;
    y[i] = fmax(hasResidual ? d + r[i] : d, 0.0f);
}

/// masked = dy where y > 0, else 0; dx = masked·scale where the element was kept, else 0.
/// Work-item b handles elements 4b ..< 4b+4 (one Philox block). masked may alias dy.
__kernel void relu_dropout_backward(__global const float* y, __global const float* dy, __global float* masked,
                                    __global float* dx, const int n, const float p, const float scale,
                                    const uint key0, const uint key1, const uint stream, const uint step) {
    const int b = get_global_id(0);
    const int i0 = b * 4;
    if (i0 >= n) return;
    const float4 u = block_uniforms(b, key0, key1, stream, step);
    if (i0 + 4 <= n) {
        const float4 m = select((float4)(0.0f), vload4(b, dy), isgreater(vload4(b, y), (float4)(0.0f)));
        vstore4(m, b, masked);
        vstore4(select((float4)(0.0f), m * scale, isgreaterequal(u, (float4)(p))), b, dx);
        return;
    }
    const float us[4] = { u.x, u.y, u.z, u.w };
    for (int i = i0; i < n; ++i) {
        const float m = y[i] > 0.0f ? dy[i] : 0.0f;
        masked[i] = m;
        dx[i] = us[i - i0] >= p ? m * scale : 0.0f;
    }
}

/// As relu_dropout_backward for a rank's part of the batch; one work-item per element.
__kernel void relu_dropout_backward_slice(__global const float* y, __global const float* dy, __global float* masked,
                                          __global float* dx, const int n, const float p, const float scale,
                                          const uint key0, const uint key1, const uint stream, const uint step,
                                          const int samples, const int globalSamples, const int offset,
                                          const int inner) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float u = slice_uniform(i, key0, key1, stream, step, samples, globalSamples, offset, inner);
    const float m = y[i] > 0.0f ? dy[i] : 0.0f;
    masked[i] = m;
    dx[i] = u >= p ? m * scale : 0.0f;
}

/// Fills u[i] with the uniform draw of element i (for tests and random initialisation).
__kernel void philox_uniform(__global float* u, const int n, const uint key0, const uint key1,
                             const uint stream, const uint step) {
    const int b = get_global_id(0);
    const int i0 = b * 4;
    if (i0 >= n) return;
    const float4 v = block_uniforms(b, key0, key1, stream, step);
    if (i0 + 4 <= n) { vstore4(v, b, u); return; }
    const float vs[4] = { v.x, v.y, v.z, v.w };
    for (int i = i0; i < n; ++i) u[i] = vs[i - i0];
}
