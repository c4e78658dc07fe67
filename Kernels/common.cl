// Shared helpers, prepended to every other kernel file when it is compiled.
// Contraction into FMA is off so results round like the CPU backend's separate multiply/add.
#pragma OPENCL FP_CONTRACT OFF

/// Sum of `v` over the work-group (dimension 0). Every work-item must call it (uniform barriers);
/// `s` holds get_local_size(0) floats, which must be a power of two.
inline float group_sum(float v, __local float* s) {
    const int lid = get_local_id(0);
    const int n = get_local_size(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = n >> 1; off > 0; off >>= 1) {
        if (lid < off) s[lid] += s[lid + off];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/// Maximum of `v` over the work-group, same rules as `group_sum`.
inline float group_max(float v, __local float* s) {
    const int lid = get_local_id(0);
    const int n = get_local_size(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = n >> 1; off > 0; off >>= 1) {
        if (lid < off) s[lid] = fmax(s[lid], s[lid + off]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
