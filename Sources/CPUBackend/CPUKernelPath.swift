import CPUKernels
import Foundation

/// The vector path the CPU backend's C kernels take (see cpu_kernels.h): AVX-512, AVX2+FMA or
/// portable C, chosen per call from the CPU's features and capped by the environment variable
/// `AIMCLR_CPU_ISA` (portable, avx2 or avx512), so a machine with AVX-512 also runs, tests and
/// times the paths of machines without it.
public enum CPUKernelPath: Int, CaseIterable, Sendable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    public var description: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    /// The best path this CPU runs.
    public static var best: CPUKernelPath { CPUKernelPath(rawValue: Int(aimclr_isa_available())) ?? .portable }

    /// The path the kernels take now (the best one, lowered by a cap).
    public static var current: CPUKernelPath { CPUKernelPath(rawValue: Int(aimclr_isa())) ?? .portable }

    /// Every path this CPU runs, lowest first (tests run each kernel on all of them).
    public static var supported: [CPUKernelPath] { allCases.filter { $0.rawValue <= best.rawValue } }

    /// Paths this CPU cannot run, for skip messages.
    public static var unsupported: [CPUKernelPath] { allCases.filter { $0.rawValue > best.rawValue } }

    /// The value of `AIMCLR_CPU_ISA` when it names no path (nil when unset or valid): callers
    /// report it, and the kernels then ignore it.
    public static var invalidEnvironmentSetting: String? {
        guard let raw = getenv("AIMCLR_CPU_ISA") else { return nil }
        let value = String(cString: raw)
        return aimclr_parse_isa(raw) < 0 ? value : nil
    }

    /// Runs `body` with the kernels capped to `path`, then restores the previous cap. Not
    /// thread-safe against other CPU work: tests and benchmarks only.
    public static func with<T>(_ path: CPUKernelPath, _ body: () throws -> T) rethrows -> T {
        let previous = aimclr_isa_cap()
        aimclr_set_isa_cap(Int32(path.rawValue))
        defer { aimclr_set_isa_cap(previous) }
        return try body()
    }
}

extension CPUKernelPath {
    /// Runs `body` once per path this CPU supports (lowest first) with the kernels capped to it;
    /// returns the paths that could not run (this CPU lacks them) so callers can name them.
    @discardableResult
    public static func forEachSupported(_ body: (CPUKernelPath) throws -> Void) rethrows -> [CPUKernelPath] {
        for path in supported { try with(path) { try body(path) } }
        let missing = unsupported
        if !missing.isEmpty {
            print("note: CPU kernel path \(missing.map(\.description).joined(separator: ", ")) not run: this CPU lacks it")
        }
        return missing
    }
}
