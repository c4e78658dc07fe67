// Shared helpers, prepended to every other kernel file when it is compiled.
// Contraction into FMA is off so results round like the CPU backend's separate multiply/add.
#pragma OPENCL FP_CONTRACT OFF

/// Defines `T NAME(T v, __local T* s)`: the reduction of `v` over the work-group (dimension 0)
/// with `COMBINE(a, b)`, in a fixed tree order so results are deterministic. Every work-item
/// must call it (uniform barriers); `s` holds get_local_size(0) elements, a power of two.
#define DEFINE_GROUP_REDUCE(NAME, T, COMBINE)                              \
    inline T NAME(T v, __local T* s) {                                     \
        const int lid = get_local_id(0);                                   \
        const int n = get_local_size(0);                                   \
        s[lid] = v;                                                        \
        barrier(CLK_LOCAL_MEM_FENCE);                                      \
        for (int off = n >> 1; off > 0; off >>= 1) {                       \
            if (lid < off) s[lid] = COMBINE(s[lid], s[lid + off]);         \
            barrier(CLK_LOCAL_MEM_FENCE);                                  \
        }                                                                  \
        const T r = s[0];                                                  \
        barrier(CLK_LOCAL_MEM_FENCE);                                      \
        return r;                                                          \
    }

#define REDUCE_ADD(a, b) ((a) + (b))
DEFINE_GROUP_REDUCE(group_sum, float, REDUCE_ADD)
DEFINE_GROUP_REDUCE(group_sum_int, int, REDUCE_ADD)
DEFINE_GROUP_REDUCE(group_max, float, fmax)
