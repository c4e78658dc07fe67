// FMA throughput probe. Each path keeps more independent accumulator chains than the FMA
// latency times the number of FMA ports, so the loop is throughput-bound, not latency-bound.
#include "cpu_peak.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define CHUNK 4096L

__attribute__((target("avx512f")))
static double run_avx512(double seconds) {
    __m512 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    long iterations = 0;
    double t0 = now_seconds(), elapsed;
    do {
        for (long k = 0; k < CHUNK; k++)
            for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
        iterations += CHUNK;
        elapsed = now_seconds() - t0;
    } while (elapsed < seconds);
    float sink = 0;
    for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(a[i]);
    return sink != sink ? 0 : (double)iterations * 12 * 16 * 2 / elapsed / 1e9;
}

__attribute__((target("avx2,fma")))
static double run_avx2(double seconds) {
    __m256 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    long iterations = 0;
    double t0 = now_seconds(), elapsed;
    do {
        for (long k = 0; k < CHUNK; k++)
            for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
        iterations += CHUNK;
        elapsed = now_seconds() - t0;
    } while (elapsed < seconds);
    float lanes[8], sink = 0;
    for (int i = 0; i < 12; i++) { _mm256_storeu_ps(lanes, a[i]); for (int j = 0; j < 8; j++) sink += lanes[j]; }
    return sink != sink ? 0 : (double)iterations * 12 * 8 * 2 / elapsed / 1e9;
}

static double run_sse(double seconds) {
    __m128 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm_set1_ps(1.0f + i * 1e-3f);
    const __m128 m = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-7f);
    long iterations = 0;
    double t0 = now_seconds(), elapsed;
    do {
        for (long k = 0; k < CHUNK; k++)
            for (int i = 0; i < 12; i++) a[i] = _mm_add_ps(_mm_mul_ps(a[i], m), c);
        iterations += CHUNK;
        elapsed = now_seconds() - t0;
    } while (elapsed < seconds);
    float lanes[4], sink = 0;
    for (int i = 0; i < 12; i++) { _mm_storeu_ps(lanes, a[i]); for (int j = 0; j < 4; j++) sink += lanes[j]; }
    return sink != sink ? 0 : (double)iterations * 12 * 4 * 2 / elapsed / 1e9;
}

/// 2: AVX-512, 1: AVX2+FMA, 0: SSE; lowered by AIMCLR_CPU_ISA (avx2, portable) as the CPU kernels
/// are, so that a run capped to AVX2 is measured against an AVX2 peak.
static int probe_level(void) {
    __builtin_cpu_init();
    int level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    const char *cap = getenv("AIMCLR_CPU_ISA");
    if (cap && !strcmp(cap, "avx2") && level > 1) level = 1;
    if (cap && !strcmp(cap, "portable")) level = 0;
    return level;
}

const char *aimclr_fma_path(void) {
    static const char *const names[] = {"sse", "avx2-fma", "avx512"};
    return names[probe_level()];
}

double aimclr_fma_gflops_one_thread(double seconds) {
    switch (probe_level()) {
    case 2: return run_avx512(seconds);
    case 1: return run_avx2(seconds);
    default: return run_sse(seconds);
    }
}
