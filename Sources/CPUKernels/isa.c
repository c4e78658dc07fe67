// Which vector path the CPU kernels take, see cpu_kernels.h.
//
// Every kernel has an AVX-512 path, an AVX2+FMA path and portable C; the path is chosen per call
// from the CPU's features, capped by AIMCLR_CPU_ISA (read once) or by `aimclr_set_isa_cap`, so a
// machine with AVX-512 also runs and tests the AVX2 and portable paths.
#include "cpu_kernels.h"
#include <stdlib.h>
#include <string.h>

int aimclr_isa_available(void) {
    static int available = -1;
    int isa = __atomic_load_n(&available, __ATOMIC_RELAXED);
    if (isa < 0) {
        __builtin_cpu_init();
        // BMI2 comes with every AVX2 and AVX-512 CPU; the dropout kernels use its pdep.
        const int bmi2 = __builtin_cpu_supports("bmi2");
        if (bmi2 && __builtin_cpu_supports("avx512f")) isa = AIMCLR_ISA_AVX512;
        else if (bmi2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = AIMCLR_ISA_AVX2;
        else isa = AIMCLR_ISA_PORTABLE;
        __atomic_store_n(&available, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

int aimclr_parse_isa(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "portable")) return AIMCLR_ISA_PORTABLE;
    if (!strcmp(name, "avx2")) return AIMCLR_ISA_AVX2;
    if (!strcmp(name, "avx512")) return AIMCLR_ISA_AVX512;
    return -1;
}

/// -2: not read yet; -1: no cap; else the highest path allowed.
static int isa_cap = -2;

static int current_cap(void) {
    int cap = __atomic_load_n(&isa_cap, __ATOMIC_RELAXED);
    if (cap == -2) {
        cap = aimclr_parse_isa(getenv("AIMCLR_CPU_ISA"));
        __atomic_store_n(&isa_cap, cap, __ATOMIC_RELAXED);
    }
    return cap;
}

void aimclr_set_isa_cap(int isa) { __atomic_store_n(&isa_cap, isa, __ATOMIC_RELAXED); }

int aimclr_isa_cap(void) { return current_cap(); }

int aimclr_isa(void) {
    const int available = aimclr_isa_available(), cap = current_cap();
    return cap >= 0 && cap < available ? cap : available;
}

int aimclr_avx512_available(void) { return aimclr_isa_available() == AIMCLR_ISA_AVX512; }

int aimclr_use_avx512(void) { return aimclr_isa() == AIMCLR_ISA_AVX512; }
