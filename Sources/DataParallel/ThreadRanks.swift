import Foundation

/// The ranks of a data-parallel job as threads of one process: `collectives[r]` is rank r's
/// `Collective` (give it to that rank's layers), and `run` starts one thread per rank. The collectives meet at a shared barrier and
/// combine in rank order (as the MPI implementation's results are the same on every rank), so
/// a multi-rank computation can be checked against a one-rank one inside a single test process,
/// without `mpirun`.
public final class ThreadRanks: @unchecked Sendable {
    public let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    /// Each rank's published buffer for the collective in progress (valid between two barriers).
    private var published: [UnsafeRawPointer?]
    /// Rank r's collective; its calls must come from the thread `run` gives rank r.
    public private(set) var collectives: [Collective] = []

    public init(size: Int) {
        self.size = max(size, 1)
        published = [UnsafeRawPointer?](repeating: nil, count: self.size)
        collectives = (0 ..< self.size).map { ThreadRank(group: self, rank: $0) }
    }

    /// Runs `body(rank, collective)` once per rank, each on its own thread, and returns the
    /// results in rank order; the first error (in rank order) is rethrown after every thread has
    /// ended. A body that throws before a collective the others reach leaves them waiting: throw
    /// only where every rank throws alike.
    public func run<T>(_ body: @escaping (Int, Collective) throws -> T) throws -> [T] {
        let results = ResultSlots<T>(count: size)
        let done = DispatchGroup()
        for r in 0 ..< size {
            done.enter()
            let work = RankWork(rank: r, collective: collectives[r], body: body)
            let thread = Thread {
                results.set(r, Result { try work.body(work.rank, work.collective) })
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.values()
    }

    /// Returns when every rank has called it (reusable: a generation counter separates rounds).
    func barrier() {
        condition.lock()
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        condition.unlock()
    }

    /// Publishes `pointer` for rank `rank`, waits for all, runs `read` over every rank's pointer
    /// (rank order), and waits again so no buffer is reused while another rank still reads it.
    func exchange(rank: Int, _ pointer: UnsafeRawPointer, _ read: ([UnsafeRawPointer]) -> Void) {
        condition.lock()
        published[rank] = pointer
        condition.unlock()
        barrier()
        condition.lock()
        let all = published.map { $0! }
        condition.unlock()
        read(all)
        barrier()
    }
}

/// One rank's collective and the work it runs, handed to its thread.
private final class RankWork<T>: @unchecked Sendable {
    let rank: Int
    let collective: Collective
    let body: (Int, Collective) throws -> T
    init(rank: Int, collective: Collective, body: @escaping (Int, Collective) throws -> T) {
        self.rank = rank; self.collective = collective; self.body = body
    }
}

/// Per-rank results of `ThreadRanks.run`, written by the rank threads.
private final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); slots[i] = r; lock.unlock() }
    func values() throws -> [T] {
        lock.lock(); defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}

/// One rank of a `ThreadRanks` job.
final class ThreadRank: Collective {
    /// Unowned: the group owns its ranks.
    unowned let group: ThreadRanks
    let rank: Int
    init(group: ThreadRanks, rank: Int) { self.group = group; self.rank = rank }

    var size: Int { group.size }
    var localRank: Int { rank }
    var localSize: Int { group.size }
    var hostname: String { ProcessInfo.processInfo.hostName }
    var traffic: CommunicationTraffic { CommunicationTraffic() }

    /// Σ in rank order into a copy, written back after every rank has read the inputs.
    private func sum<T: FloatingPoint>(_ values: UnsafeMutableBufferPointer<T>) {
        guard let base = values.baseAddress else { group.barrier(); group.barrier(); return }
        var total = [T](repeating: 0, count: values.count)
        group.exchange(rank: rank, UnsafeRawPointer(base)) { all in
            for p in all {
                let v = p.assumingMemoryBound(to: T.self)
                for i in 0 ..< values.count { total[i] += v[i] }
            }
        }
        for i in 0 ..< values.count { values[i] = total[i] }
    }

    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) { sum(values) }
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) { sum(values) }

    func allGather(_ local: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer) {
        let n = local.count
        guard let base = local.baseAddress, n > 0 else { group.barrier(); group.barrier(); return }
        group.exchange(rank: rank, base) { all in
            for (r, p) in all.enumerated() {
                (gathered.baseAddress! + r * n).copyMemory(from: p, byteCount: n)
            }
        }
    }

    func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = values.baseAddress, values.count > 0 else { group.barrier(); group.barrier(); return }
        var copy = [UInt8](repeating: 0, count: values.count)
        group.exchange(rank: rank, UnsafeRawPointer(base)) { all in
            copy.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: all[root], count: values.count)) }
        }
        copy.withUnsafeBytes { values.copyMemory(from: $0) }
    }

    func barrier() { group.barrier() }

    func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("\(describeRank): \(message)\n".utf8))
        exit(code)
    }

    func finish() {}
}
