// OpenBLAS's own headers (found through pkg-config's -I for openblas-pthread);
// openblas_config.h exists only there, so a generic cblas.h cannot sneak in.
#include <openblas_config.h>
#include <cblas.h>
