// Elementwise kernels: one work-item per element, guarded against the rounded-up global size.

__kernel void fill_f32(__global float* x, const float value, const int n) {
    const int i = get_global_id(0);
    if (i < n) x[i] = value;
}

__kernel void copy_f32(__global const float* src, const int srcOffset,
                       __global float* dst, const int dstOffset, const int n) {
    const int i = get_global_id(0);
    if (i < n) dst[dstOffset + i] = src[srcOffset + i];
}

__kernel void relu_forward(__global const float* x, __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = fmax(x[i], 0.0f);
}

__kernel void relu_backward(__global const float* y, __global const float* dy, __global float* dx, const int n) {
    const int i = get_global_id(0);
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__kernel void add_f32(__global const float* a, __global const float* b, __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = a[i] + b[i];
}

__kernel void add_relu_f32(__global const float* a, __global const float* b, __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = fmax(a[i] + b[i], 0.0f);
}

__kernel void mul_f32(__global const float* a, __global const float* b, __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = a[i] * b[i];
}

/// y = alpha·x + beta·y; with beta == 0 the old y is never read (it may hold NaN).
__kernel void axpby_f32(const float alpha, __global const float* x, const float beta,
                        __global float* y, const int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    y[i] = beta == 0.0f ? alpha * x[i] : alpha * x[i] + beta * y[i];
}

/// C = beta·C on an m×n sub-matrix with leading dimension ld (GEMM with k == 0).
__kernel void scale_matrix(__global float* c, const int offset, const int m, const int n, const int ld,
                           const float beta) {
    const int i = get_global_id(0);
    if (i >= m * n) return;
    const int idx = offset + (i / n) * ld + i % n;
    c[idx] = beta == 0.0f ? 0.0f : beta * c[idx];
}
