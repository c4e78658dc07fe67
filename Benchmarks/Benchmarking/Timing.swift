import Compute
import Foundation

/// Summary of repeated timings of one piece of work.
public struct TimingStats: Codable, Sendable {
    public var runs: Int
    public var median: Double
    public var min: Double
    public var max: Double

    public init(seconds samples: [Double]) {
        precondition(!samples.isEmpty)
        let sorted = samples.sorted()
        runs = sorted.count
        min = sorted.first!
        max = sorted.last!
        let mid = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid])
    }
}

/// Monotonic wall-clock seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` `warmup` times untimed, then `runs` times timed; the device is synchronised
/// after every run so asynchronous backends are measured to completion.
public func measure(device: Device, warmup: Int, runs: Int, _ body: () throws -> Void) rethrows -> TimingStats {
    for _ in 0..<warmup { try body() }
    device.synchronize()
    var samples: [Double] = []
    samples.reserveCapacity(runs)
    for _ in 0..<runs {
        let start = monotonicSeconds()
        try body()
        device.synchronize()
        samples.append(monotonicSeconds() - start)
    }
    return TimingStats(seconds: samples)
}

/// Peak resident set size of this process in bytes (from /proc/self/status VmHWM).
public func peakResidentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        // "VmHWM:\t  123456 kB": the separator is a tab and/or spaces.
        let kb = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
