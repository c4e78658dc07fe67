#ifndef AIMCLR_CLBLAST_PARAMETERS_H
#define AIMCLR_CLBLAST_PARAMETERS_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Writes the tuning parameters CLBlast uses for `kernel` (e.g. "Xgemm") in single precision on
/// `device` (a cl_device_id) as "NAME=VALUE;NAME=VALUE" into `out`. Returns CLBlast's status
/// (0: success), or -9999 when `capacity` bytes are too few. CLBlast's C API can override
/// parameters but not read them; the tuner needs the current ones as its baseline and to
/// restore them.
int aimclr_clblast_retrieve_parameters(void *device, const char *kernel, char *out, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif
