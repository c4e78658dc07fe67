import Foundation

/// The one-rank job of a binary started without `mpirun`: every collective is the identity
/// and no MPI library is initialised.
public final class SingleProcess: Collective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }
    public var hostname: String { ProcessInfo.processInfo.hostName }
    public var traffic: CommunicationTraffic { CommunicationTraffic() }
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func allGather(_ local: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer) {
        gathered.copyMemory(from: local)
    }
    public func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) {}
    public func barrier() {}
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
    public func finish() {}
}
