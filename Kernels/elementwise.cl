// Elementwise kernels.
__kernel void fill_f32(__global float* x, const float value, const int n) {
    int i = get_global_id(0);
    if (i < n) x[i] = value;
}
