import AimCLR
import ArgumentParser
import Foundation
import Skeleton

/// A failure reported as one line (`Error: <message>`) and exit status 1, without a trace.
/// Used for bad flags too: ArgumentParser's `ValidationError` adds usage lines and exit status 64.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(description: String) { self.description = description }
    init(_ description: String) { self.description = description }
}

/// Runs `body`, turning errors that lack a readable description (Foundation's, POSIX's)
/// into a `CommandFailure` that names `context`; the library's own errors pass unchanged,
/// since they already name the file and the problem.
func reportingErrors<T>(_ context: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as CocoaError {
        throw CommandFailure(description: "\(context): \(e.localizedDescription)")
    } catch let e as POSIXError {
        throw CommandFailure(description: "\(context): \(e.localizedDescription)")
    } catch {
        // Swift-native errors print their own description; bridged NSErrors print a dump.
        let text = String(describing: error)
        if text.hasPrefix("Error Domain=") || text.isEmpty {
            throw CommandFailure(description: "\(context): \(error.localizedDescription)")
        }
        throw error
    }
}

/// Prints preparation progress: a line rewritten in place (at most ten times a second) when
/// standard error is a terminal, otherwise one line per finished part, so logs stay short.
final class ProgressPrinter {
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var partStart = Date()
    private var currentPart: DataPart?

    func update(_ p: PrepareProgress) {
        if p.part != currentPart { currentPart = p.part; partStart = Date() }
        let now = Date()
        let line = p.line(elapsedSeconds: now.timeIntervalSince(partStart))
        if isTerminal {
            guard p.finished || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (p.finished ? "\n" : "")).utf8))
        } else if p.finished {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    var elapsed: Double { Date().timeIntervalSince(start) }
}

/// The bad-sample report and the summary at the end of a preparation.
func printReport(_ report: PrepareReport, outputDirectory: String, elapsed: Double) {
    if !report.skipped.isEmpty {
        print("Skipped \(report.skipped.count) bad sample(s):")
        for s in report.skipped { print("  \(s)") }
    }
    for note in report.notes { print("note: \(note)") }
    print("Wrote to \(outputDirectory):")
    for f in report.outputs { print("  \(URL(fileURLWithPath: f).lastPathComponent)") }
    for line in report.partLines { print(line) }
    print(report.summary + String(format: " (%.1f s)", elapsed))
}

extension NTUBenchmark: ExpressibleByArgument {}
extension KinectV1OutputLayout: ExpressibleByArgument {}

// Typed options: a value outside the cases is refused by the parser, and `--help` lists them.
extension SkeletonStream: ExpressibleByArgument {}
extension PretrainMethod: ExpressibleByArgument {}
extension EmbeddingOutput: ExpressibleByArgument {}
