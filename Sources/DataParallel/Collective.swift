import Foundation

/// The ranks of a data-parallel job and the collectives they run together.
///
/// Every rank calls the same collectives in the same order with the same sizes; a rank that
/// stops answering (killed, device lost) ends the whole job, so none of these throw: an
/// implementation that sees a communication failure names its rank and host and aborts the job.
public protocol Collective: AnyObject {
    /// This process's index, 0 ..< size.
    var rank: Int { get }
    var size: Int { get }
    /// Index among the ranks on this host (picks the device) and their number.
    var localRank: Int { get }
    var localSize: Int { get }
    var hostname: String { get }
    /// Time spent inside collectives and bytes sent by this rank, since the start.
    var traffic: CommunicationTraffic { get }

    /// values[i] = Σ over ranks of values[i], on every rank.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Every rank gives `local` (the same byte count everywhere); `gathered` receives size·count
    /// bytes, rank 0's first.
    func allGather(_ local: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer)
    /// Rank `root`'s bytes copied into every rank's `values`.
    func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int)
    func barrier()
    /// Ends every rank of the job after printing `message` (prefixed with this rank and host).
    func abort(_ message: String, code: Int32) -> Never
    /// Leaves the job cleanly (after the last collective).
    func finish()
}

/// Accumulated communication of one rank.
public struct CommunicationTraffic: Sendable, Equatable {
    public var seconds: Double = 0
    public var bytes: Int = 0
    public var calls: Int = 0
    public init() {}
}

extension Collective {
    /// "rank 1 of 2 on host-a".
    public var describeRank: String { "rank \(rank) of \(size) on \(hostname)" }

    public func allReduceSum(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    public func allReduceSum(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    /// The per-rank values of a trivially copyable `value`, in rank order.
    public func allGather<T: BitwiseCopyable>(_ value: T) -> [T] {
        var local = value
        return [T](unsafeUninitializedCapacity: size) { out, count in
            withUnsafeBytes(of: &local) { src in
                allGather(src, into: UnsafeMutableRawBufferPointer(out))
            }
            count = size
        }
    }

    /// Every rank's `values` (equal counts) concatenated in rank order.
    public func allGather(_ values: [Float]) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count * size) { out, count in
            values.withUnsafeBytes { allGather($0, into: UnsafeMutableRawBufferPointer(out)) }
            count = values.count * size
        }
    }

    /// Rank `root`'s string on every rank.
    public func broadcast(_ text: String, root: Int = 0) -> String {
        var length = rank == root ? text.utf8.count : 0
        withUnsafeMutableBytes(of: &length) { broadcast($0, root: root) }
        var bytes = rank == root ? Array(text.utf8) : [UInt8](repeating: 0, count: length)
        bytes.withUnsafeMutableBytes { broadcast($0, root: root) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
