import CBLAS
import Foundation

/// Picks OpenBLAS's kernel set when its own detection gives up.
///
/// A DYNAMIC_ARCH OpenBLAS chooses its kernels from the CPU model number when the library
/// loads. OpenBLAS 0.3.21 does not know recent Xeons (e.g. family 6 model 207) and falls
/// back to its generic "Prescott" SSE3 kernels, which run SGEMM about 5x slower than its
/// AVX-512 ones on the same core. When that happens, and the user has not chosen a core with
/// `OPENBLAS_CORETYPE`, we choose from the instruction set the kernel reports and re-run
/// OpenBLAS's dynamic initialisation, exactly as it does at load time with the variable set.
/// A small SGEMM is then checked against a plain loop; on any mismatch the original choice
/// is restored.
enum BLASCoreSelection {
    /// Kernel sets OpenBLAS uses as fallbacks for CPUs it does not recognise.
    private static let fallbackCores: Set<String> = ["prescott", "katmai", "core2", "nehalem", "sandybridge"]

    /// Runs the selection once per process (thread-safe lazy global).
    static let selectedOnce: Void = select()

    private static func select() {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return }
        guard let namePointer = openblas_get_corename() else { return }
        let original = String(cString: namePointer)
        guard fallbackCores.contains(original.lowercased()), let flags = cpuFlags() else { return }
        let target: String
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
            target = "SkylakeX"
        } else if ["avx2", "fma"].allSatisfy(flags.contains) {
            target = "Haswell"
        } else {
            return
        }
        guard target.lowercased() != original.lowercased(), reinitialise(as: target) else { return }
        if !sgemmSelfCheckPasses() { _ = reinitialise(as: original) }
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// gotoblas_dynamic_quit + gotoblas_dynamic_init with OPENBLAS_CORETYPE set; false when
    /// this OpenBLAS has no dynamic dispatch (the symbols are then absent).
    private static func reinitialise(as core: String) -> Bool {
        typealias Hook = @convention(c) () -> Void
        guard let handle = dlopen(nil, RTLD_NOW),
              let quit = dlsym(handle, "gotoblas_dynamic_quit"),
              let initialise = dlsym(handle, "gotoblas_dynamic_init") else { return false }
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialise, to: Hook.self)()
        return true
    }

    /// CPU feature flags the kernel reports (Linux); nil elsewhere.
    private static func cpuFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return nil
    }

    /// A 67×45×71 SGEMM (odd sizes cover the kernels' edge paths) against a plain loop.
    private static func sgemmSelfCheckPasses() -> Bool {
        let m = 67, n = 45, k = 71
        let a = (0 ..< m * k).map { Float(($0 * 7919) % 23) / 23 - 0.5 }
        let b = (0 ..< k * n).map { Float(($0 * 104_729) % 19) / 19 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s: Float = 0
                for p in 0 ..< k { s += a[i * k + p] * b[p * n + j] }
                if abs(s - c[i * n + j]) > 1e-4 * max(1, abs(s)) { return false }
            }
        }
        return true
    }
}
