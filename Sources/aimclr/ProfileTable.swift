import Compute
import Foundation

/// Prints a device's per-op time breakdown, largest first: calls, seconds, share, and the
/// achieved GFLOP/s and GB/s of the op's own flop and byte counts ("-" where it counts none).
func printProfile(_ timings: [OpTiming]) {
    // Rows "op/kernel" (OpenCL --profile-kernels) split their op's time: listed under it, not totalled.
    let ops = timings.filter { !$0.op.contains("/") }
    let total = ops.reduce(0) { $0 + $1.seconds }
    guard total > 0 else { print("(no profile recorded)"); return }
    let width = max(30, (timings.map(\.op.count).max() ?? 0) + 3)
    print("op".padding(toLength: width, withPad: " ", startingAt: 0) + "   calls    seconds   share   GFLOP/s     GB/s")
    func line(_ t: OpTiming, _ label: String) {
        let rate = t.seconds > 0
        let gflops = t.flops > 0 && rate ? String(format: "%9.1f", t.flops / t.seconds / 1e9) : "        -"
        let gbs = t.bytes > 0 && rate ? String(format: "%8.1f", t.bytes / t.seconds / 1e9) : "       -"
        print(label.padding(toLength: width, withPad: " ", startingAt: 0)
              + String(format: " %7d %10.3f  %5.1f%% %@ %@", t.calls, t.seconds, 100 * t.seconds / total, gflops, gbs))
    }
    for t in ops.sorted(by: { $0.seconds > $1.seconds }) {
        line(t, t.op)
        let kernels = timings.filter { $0.op.hasPrefix(t.op + "/") }.sorted { $0.seconds > $1.seconds }
        for k in kernels { line(k, "  " + k.op.dropFirst(t.op.count + 1)) }
    }
    print(String(format: "total %.3f s", total))
}
