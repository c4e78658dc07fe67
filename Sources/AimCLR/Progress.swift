import Foundation

/// Progress lines for long work: a self-overwriting line on a terminal, plain lines otherwise
/// (so logs stay readable), at most a few updates per second.
public final class ProgressReporter {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPrint = 0.0
    private let minimumInterval: Double
    private var lineOpen = false

    /// Prints nothing (ranks other than 0 of a data-parallel job).
    public var silent = false

    public init(minimumInterval: Double = 0.5) { self.minimumInterval = minimumInterval }

    /// Shows `text` unless the previous update was too recent (`force` always shows it).
    public func update(_ text: String, force: Bool = false) {
        if silent { return }
        let now = Date().timeIntervalSince1970
        guard force || now - lastPrint >= (isTerminal ? minimumInterval : minimumInterval * 20) else { return }
        lastPrint = now
        if isTerminal {
            FileHandle.standardError.write(("\r\u{1B}[K" + text).data(using: .utf8)!)
            lineOpen = true
        } else {
            FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
        }
    }

    /// Ends the current line and prints a permanent one to standard output.
    public func finish(_ text: String) {
        if silent { return }
        if lineOpen {
            FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
            lineOpen = false
        }
        print(text)
        fflush(nil)
    }

    /// "35.2 samples/s  ETA 1m05s": the rate since `start` and the time the rest would take at it.
    public static func rate(done: Int, of total: Int, since start: Date, unit: String) -> String {
        let seconds = Date().timeIntervalSince(start)
        guard done > 0, seconds > 0 else { return "ETA ?" }
        let perSecond = Double(done) / seconds
        return String(format: "%.1f %@/s  ETA %@", perSecond, unit, duration(Double(max(0, total - done)) / perSecond))
    }

    /// "1h02m", "3m05s", "12s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
