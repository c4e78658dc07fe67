// Register tiles of aimclr_small_matmul for one vector width. small_matmul.c includes it once per
// path with the S_* macros set: SVEC (vector type), S_LANES, S_TARGET, S_SUFFIX and the s_*
// operations. Two rows × 4 vectors in registers (8 accumulators; each input vector feeds two FMAs),
// then single rows × 4 vectors. Returns the first position no tile covered.
#define S_CAT2(a, b) a##b
#define S_CAT(a, b) S_CAT2(a, b)
#define S_WIDTH (4 * S_LANES)

S_TARGET static long S_CAT(small_matmul_tiles, S_SUFFIX)(const float *m, long rows, long inner, const float *in, long ldi,
                                                        float *out, long ldo, long n, int accumulate) {
    long i = 0;
    for (; i + S_WIDTH <= n; i += S_WIDTH) {
        long r = 0;
        for (; r + 2 <= rows; r += 2) {
            float *o0 = out + r * ldo + i, *o1 = o0 + ldo;
            SVEC a[4], b[4];
            for (int q = 0; q < 4; q++) {
                a[q] = accumulate ? s_load(o0 + q * S_LANES) : s_zero();
                b[q] = accumulate ? s_load(o1 + q * S_LANES) : s_zero();
            }
            const float *w0 = m + r * inner, *w1 = w0 + inner;
            for (long k = 0; k < inner; k++) {
                const float *x = in + k * ldi + i;
                const SVEC u = s_set1(w0[k]), v = s_set1(w1[k]);
                for (int q = 0; q < 4; q++) {
                    const SVEC xq = s_load(x + q * S_LANES);
                    a[q] = s_fmadd(u, xq, a[q]);
                    b[q] = s_fmadd(v, xq, b[q]);
                }
            }
            for (int q = 0; q < 4; q++) {
                s_store(o0 + q * S_LANES, a[q]);
                s_store(o1 + q * S_LANES, b[q]);
            }
        }
        for (; r < rows; r++) {
            float *o0 = out + r * ldo + i;
            SVEC a[4];
            for (int q = 0; q < 4; q++) a[q] = accumulate ? s_load(o0 + q * S_LANES) : s_zero();
            for (long k = 0; k < inner; k++) {
                const float *x = in + k * ldi + i;
                const SVEC u = s_set1(m[r * inner + k]);
                for (int q = 0; q < 4; q++) a[q] = s_fmadd(u, s_load(x + q * S_LANES), a[q]);
            }
            for (int q = 0; q < 4; q++) s_store(o0 + q * S_LANES, a[q]);
        }
    }
    return i;
}

#undef S_WIDTH
