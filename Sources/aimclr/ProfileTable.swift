import Compute
import Foundation

/// Prints a device's per-op time breakdown, largest first: calls, seconds, share, and the
/// achieved GFLOP/s and GB/s of the op's own flop and byte counts ("-" where it counts none).
func printProfile(_ timings: [OpTiming]) {
    let total = timings.reduce(0) { $0 + $1.seconds }
    guard total > 0 else { print("(no profile recorded)"); return }
    print("op".padding(toLength: 30, withPad: " ", startingAt: 0) + "   calls    seconds   share   GFLOP/s     GB/s")
    for t in timings.sorted(by: { $0.seconds > $1.seconds }) {
        let gflops = t.flops > 0 ? String(format: "%9.1f", t.flops / t.seconds / 1e9) : "        -"
        let gbs = t.bytes > 0 ? String(format: "%8.1f", t.bytes / t.seconds / 1e9) : "       -"
        print(t.op.padding(toLength: 30, withPad: " ", startingAt: 0)
              + String(format: " %7d %10.3f  %5.1f%% %@ %@", t.calls, t.seconds, 100 * t.seconds / total, gflops, gbs))
    }
    print(String(format: "total %.3f s", total))
}
