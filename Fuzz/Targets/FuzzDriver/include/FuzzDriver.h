#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver with `callback` as the target (LLVMFuzzerRunDriver, LLVM >= 11).
/// SwiftPM renames each executable's entry point to `<module>_main`; the targets define that
/// symbol and call this, so the fuzzer's own `main` is not needed.
int aimclr_fuzz_main(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));
