#ifndef AIMCLR_CPU_PEAK_H
#define AIMCLR_CPU_PEAK_H

/// Runs independent fp32 FMA chains on the calling thread for about `seconds` and returns the
/// achieved GFLOP/s, using the widest vector unit the CPU supports (AVX-512, AVX2+FMA, or SSE).
double aimclr_fma_gflops_one_thread(double seconds);

/// Name of the vector path the measurement used ("avx512", "avx2-fma" or "sse").
const char *aimclr_fma_path(void);

#endif
