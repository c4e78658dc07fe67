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

/// Inverted dropout: work-item b handles elements 4b ..< 4b+4 (one Philox block) with one
/// 16-byte load and store. y = x·scale where uniform >= p, else 0 (also for x = ±inf/NaN).
/// Used for the backward too (x = dy). y may alias x.
__kernel void dropout_apply(__global const float* x, __global float* y, const int n, const float p,
                            const float scale, const uint key0, const uint key1,
                            const uint stream, const uint step) {
    const int b = get_global_id(0);
    const int i0 = b * 4;
    if (i0 >= n) return;
    const uint4 r = philox4x32_10((uint4)((uint)b, stream, step, 0u), (uint2)(key0, key1));
    const float4 u = convert_float4(r >> 8) * (1.0f / 16777216.0f);
    const int4 keep = isgreaterequal(u, (float4)(p));
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
    const long row = (long)samples * inner;
    const long o = i / row, rest = i - o * row;
    const long g = (o * globalSamples + offset) * inner + rest;
    const uint4 r = philox4x32_10((uint4)((uint)(g / 4), stream, step, 0u), (uint2)(key0, key1));
    const int w = (int)(g % 4);
    const uint bits = w == 0 ? r.x : (w == 1 ? r.y : (w == 2 ? r.z : r.w));
    const float u = (float)(bits >> 8) * (1.0f / 16777216.0f);
    y[i] = u >= p ? x[i] * scale : 0.0f;
}

/// Fills u[i] with the uniform draw of element i (for tests and random initialisation).
__kernel void philox_uniform(__global float* u, const int n, const uint key0, const uint key1,
                             const uint stream, const uint step) {
    const int b = get_global_id(0);
    if (b * 4 >= n) return;
    const uint4 r = philox4x32_10((uint4)((uint)b, stream, step, 0u), (uint2)(key0, key1));
    const uint bits[4] = { r.x, r.y, r.z, r.w };
    for (int o = 0; o < 4; ++o) {
        const int i = b * 4 + o;
        if (i < n) u[i] = philox_unit(bits[o]);
    }
}
