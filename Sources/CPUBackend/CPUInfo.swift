import Dispatch
import Foundation

/// Facts about the host CPU that benchmarks report next to their timings.
public enum CPUInfo {
    /// Cores available to this process.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Measured single-precision FMA throughput of all cores, in GFLOP/s (one FMA = 2 flops).
    ///
    /// Each core runs eight independent chains of SIMD16<Float> fused multiply-adds (enough
    /// chains to cover FMA latency × issue width on AVX2 and AVX-512 parts) for about
    /// `seconds`. The figure is a true FMA peak only when the module is compiled with FMA
    /// code generation (e.g. `-target-cpu native`); with the generic x86-64 target the FMAs
    /// become library calls and the number says so by being tiny.
    public static func measureFMAPeakGFLOPS(seconds: Double) -> Double {
        let workers = cores
        let iterationsPerBatch = 1 << 16
        let flopsPerIteration = 8.0 * 16 * 2
        let totals = UnsafeMutablePointer<Double>.allocate(capacity: workers)
        defer { totals.deallocate() }
        let out = UncheckedSendable(value: totals)
        let budget = max(seconds, 0.01)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var batches = 0
            var sink: Float = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                sink += fmaBatch(iterationsPerBatch)
                batches += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            } while elapsed < budget
            // Keep the result observable so the loop cannot be removed.
            out.value[w] = sink.isNaN ? 0 : Double(batches * iterationsPerBatch) * flopsPerIteration / elapsed
        }
        var total = 0.0
        for w in 0 ..< workers { total += totals[w] }
        return total / 1e9
    }

    @inline(never)
    static func fmaBatch(_ iterations: Int) -> Float {
        var a0 = SIMD16<Float>(repeating: 1), a1 = a0, a2 = a0, a3 = a0
        var a4 = a0, a5 = a0, a6 = a0, a7 = a0
        let m = SIMD16<Float>(repeating: 0.999_999), c = SIMD16<Float>(repeating: 1e-7)
        for _ in 0 ..< iterations {
            a0 = a0.addingProduct(m, c); a1 = a1.addingProduct(m, c)
            a2 = a2.addingProduct(m, c); a3 = a3.addingProduct(m, c)
            a4 = a4.addingProduct(m, c); a5 = a5.addingProduct(m, c)
            a6 = a6.addingProduct(m, c); a7 = a7.addingProduct(m, c)
        }
        return ((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7)).sum()
    }
}
