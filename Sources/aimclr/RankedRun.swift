import ArgumentParser
import DataParallel
import Foundation
import MPIRuntime

/// Runs an evaluation verb alone or as one rank of an `mpirun` job.
///
/// Ranks other than 0 print nothing on standard output (rank 0 reports for the job) and write no
/// file; errors still reach standard error. A failure on any rank under mpirun ends the job with
/// the rank and host named, since the other ranks may be waiting in a collective for it.
enum RankedRun {
    static func run(_ body: (Collective) throws -> Void) throws {
        let collective: Collective
        do { collective = try Launch.collective() } catch { throw CommandFailure("\(error)") }
        if collective.rank != 0 { quietStandardOutput() }
        do {
            try body(collective)
            collective.finish()
        } catch {
            guard collective.size > 1 else { throw error }
            if let code = error as? ExitCode { collective.abort("stopped (exit status \(code.rawValue))", code: code.rawValue) }
            collective.abort("\(error)", code: 1)
        }
    }

    /// Points standard output at /dev/null, so the lines of ranks other than 0 do not repeat rank 0's.
    private static func quietStandardOutput() {
        fflush(nil) // every stream: standard output is about to change
        let null = open("/dev/null", O_WRONLY)
        guard null >= 0 else { return }
        dup2(null, STDOUT_FILENO)
        close(null)
    }
}
