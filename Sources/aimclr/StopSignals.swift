import Dispatch
import Foundation

/// SIGINT and SIGTERM during a long run: the first asks the run to stop at the next iteration
/// boundary (it then writes a checkpoint and exits 128 + signal); a second one exits at once.
/// The signals are taken through dispatch sources, so the handling runs on an ordinary thread
/// rather than in signal context.
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32 = 0
    private var sources: [DispatchSourceSignal] = []

    /// The first signal received, 0 while none.
    var signal: Int32 { lock.lock(); defer { lock.unlock() }; return received }
    var requested: Bool { signal != 0 }

    init() {
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig, SIG_IGN) // the source below sees it; the default action would kill the run
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            // `data` counts the signals since the last call: two quick Ctrl-Cs may arrive as one event.
            // (The handler holding its source is released by `cancel()` in `uninstall`.)
            source.setEventHandler { [weak self, source] in self?.receive(sig, count: Int(source.data)) }
            source.resume()
            sources.append(source)
        }
    }

    private func receive(_ sig: Int32, count: Int) {
        lock.lock()
        let first = received == 0
        if first { received = sig }
        lock.unlock()
        let name = sig == SIGINT ? "interrupt" : "SIGTERM"
        if first && count <= 1 {
            FileHandle.standardError.write(Data("\n\(name): stopping after the current iteration and writing a checkpoint (again to stop at once)\n".utf8))
        } else {
            FileHandle.standardError.write(Data("\n\(name) again: stopping at once, without a checkpoint\n".utf8))
            // _exit, not exit: the training threads are still running, and exit's atexit handlers
            // and library destructors (OpenBLAS, the OpenCL driver) crashed under them (SIGSEGV).
            _exit(128 + sig)
        }
    }

    /// Puts the default actions back (a later signal kills the process as usual).
    func uninstall() {
        for s in sources { s.cancel() }
        for sig in [SIGINT, SIGTERM] { Foundation.signal(sig, SIG_DFL) }
    }
}
