import CPUKernels

/// The C helpers that choose their own vector path (channel sums, EADM attention) run their
/// portable C code inside `withPortableKernels`, so tests check that path on any machine.
/// Not thread-safe: tests only, with no other CPU work running.
public enum PortableKernelSwitch {
    public static func withPortableKernels<T>(_ body: () throws -> T) rethrows -> T {
        aimclr_set_portable_only(1)
        defer { aimclr_set_portable_only(0) }
        return try body()
    }

    /// Whether those helpers currently take their AVX-512 path.
    public static var usesAVX512: Bool { aimclr_use_avx512() != 0 }
}
