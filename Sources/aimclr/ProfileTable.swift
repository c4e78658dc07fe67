import Compute
import Foundation

/// Prints a device's per-op time breakdown, largest first.
func printProfile(_ timings: [OpTiming]) {
    let total = timings.reduce(0) { $0 + $1.seconds }
    guard total > 0 else { print("(no profile recorded)"); return }
    print("op                              calls    seconds   share   GFLOP/s")
    for t in timings.sorted(by: { $0.seconds > $1.seconds }) {
        let gflops = t.flops > 0 ? String(format: "%9.1f", t.flops / t.seconds / 1e9) : "        -"
        print(String(format: "%-30@ %7d %10.3f  %5.1f%% %@", t.op as NSString, t.calls, t.seconds, 100 * t.seconds / total, gflops))
    }
    print(String(format: "total %.3f s", total))
}
