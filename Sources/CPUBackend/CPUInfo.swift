import CPUPeak
import Dispatch
import Foundation

/// Facts about the host CPU that benchmarks report next to their timings.
public enum CPUInfo {
    /// Cores available to this process.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Measured single-precision FMA throughput of all cores, in GFLOP/s (one FMA = 2 flops).
    ///
    /// Every core runs twelve independent vector FMA chains (enough to cover FMA latency times
    /// the number of FMA ports) on the widest unit the CPU has; the C probe picks AVX-512,
    /// AVX2+FMA or SSE at run time, so the figure is right whatever this module was compiled for.
    public static func measureFMAPeakGFLOPS(seconds: Double) -> Double {
        let workers = cores
        let totals = UnsafeMutablePointer<Double>.allocate(capacity: workers)
        defer { totals.deallocate() }
        let out = UncheckedSendable(value: totals)
        let budget = max(seconds, 0.01)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            out.value[w] = aimclr_fma_gflops_one_thread(budget)
        }
        var total = 0.0
        for w in 0 ..< workers { total += totals[w] }
        return total
    }

    /// The vector path the peak probe uses on this CPU ("avx512", "avx2-fma" or "sse").
    public static var fmaPath: String { String(cString: aimclr_fma_path()) }
}
