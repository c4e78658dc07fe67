// Dimension permutation for up to 6 dims. The host passes the output dims d0..d5 (padded with
// leading 1s; d0 is implied by n) and, for each output dim, the stride of the matching input dim.
__kernel void permute6(__global const float* x, __global float* y, const int n,
                       const int d1, const int d2, const int d3, const int d4, const int d5,
                       const int s0, const int s1, const int s2, const int s3, const int s4, const int s5) {
    const int i = get_global_id(0);
    if (i >= n) return;
    int r = i;
    const int i5 = r % d5; r /= d5;
    const int i4 = r % d4; r /= d4;
    const int i3 = r % d3; r /= d3;
    const int i2 = r % d2; r /= d2;
    const int i1 = r % d1; r /= d1;
    const int i0 = r;
    y[i] = x[i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4 + i5 * s5];
}
