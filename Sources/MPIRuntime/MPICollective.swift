import CMPI
import DataParallel
import Foundation

/// The ranks of an `mpirun` job (Open MPI), over MPI_COMM_WORLD.
///
/// Errors are returned by the library rather than fatal (see `cmpi_init`), so a failed
/// collective prints which rank on which host saw it before MPI_Abort ends every rank.
public final class MPICollective: Collective {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let localSize: Int
    public let hostname: String
    public private(set) var traffic = CommunicationTraffic()
    private var finished = false

    public struct StartFailure: Error, CustomStringConvertible {
        public var detail: String
        public var description: String { "MPI could not start: \(detail)" }
    }

    public init() throws {
        var r: Int32 = 0, s: Int32 = 0
        let rc = cmpi_init(&r, &s)
        guard rc == cmpi_success() else { throw StartFailure(detail: MPICollective.text(of: rc)) }
        var lr: Int32 = 0, ls: Int32 = 1
        let rcLocal = cmpi_local(&lr, &ls)
        guard rcLocal == cmpi_success() else { throw StartFailure(detail: MPICollective.text(of: rcLocal)) }
        rank = Int(r); size = Int(s); localRank = Int(lr); localSize = Int(ls)
        hostname = ProcessInfo.processInfo.hostName
    }

    static func text(of code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        cmpi_error_string(code, &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs one collective, timing it; a failure ends the job with this rank's name on it.
    private func call(_ what: String, bytes: Int, _ body: () -> Int32) {
        let start = DispatchTime.now().uptimeNanoseconds
        let rc = body()
        traffic.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        traffic.bytes += bytes
        traffic.calls += 1
        if rc != cmpi_success() {
            abort("\(what) failed: \(MPICollective.text(of: rc)) (another rank probably died; see the lines above)", code: 1)
        }
    }

    private func count(_ n: Int, _ what: String) -> Int32 {
        guard let c = Int32(exactly: n) else { abort("\(what): \(n) elements exceed one MPI message", code: 1) }
        return c
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        let n = count(values.count, "MPI_Allreduce")
        call("MPI_Allreduce", bytes: values.count * 4) { cmpi_allreduce_sum_float(base, n) }
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        let n = count(values.count, "MPI_Allreduce")
        call("MPI_Allreduce", bytes: values.count * 8) { cmpi_allreduce_sum_double(base, n) }
    }

    public func allGather(_ local: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer) {
        guard let src = local.baseAddress, let dst = gathered.baseAddress, local.count > 0 else { return }
        let n = count(local.count, "MPI_Allgather")
        call("MPI_Allgather", bytes: local.count) { cmpi_allgather_bytes(src, n, dst) }
    }

    public func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        let n = count(values.count, "MPI_Bcast")
        call("MPI_Bcast", bytes: rank == root ? values.count : 0) { cmpi_broadcast_bytes(base, n, Int32(root)) }
    }

    public func barrier() {
        call("MPI_Barrier", bytes: 0) { cmpi_barrier() }
    }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("aimclr: \(describeRank): \(message)\n".utf8))
        _ = cmpi_abort(code)
        exit(code)
    }

    public func finish() {
        guard !finished else { return }
        finished = true
        _ = cmpi_finalize()
    }
}
