import Compute
import DataParallel
import Foundation
import NN

/// The start and per-epoch checks of a data-parallel run: every rank must train the same
/// configuration on the same data, and hold bit-identical state after every epoch.
public enum DataParallelChecks {
    /// Raised identically on every rank (each saw the same gathered values), so rank 0 alone reports it.
    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }

    /// FNV-1a over bytes, chainable.
    struct Hash {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        mutating func add(_ text: String) { var t = text; t.withUTF8 { add(UnsafeRawBufferPointer($0)) } }
        mutating func add(_ n: Int) { var v = Int64(n); withUnsafeBytes(of: &v) { add($0) } }
        mutating func add(_ floats: [Float]) { floats.withUnsafeBytes { add($0) } }
    }

    /// Each rank's host name, in rank order (64 bytes each).
    static func hostnames(_ collective: Collective) -> [String] {
        var local = [UInt8](repeating: 0, count: 64)
        for (i, b) in collective.hostname.utf8.prefix(63).enumerated() { local[i] = b }
        var all = [UInt8](repeating: 0, count: 64 * collective.size)
        local.withUnsafeBytes { src in all.withUnsafeMutableBytes { collective.allGather(src, into: $0) } }
        return (0 ..< collective.size).map { r in
            String(decoding: all[(r * 64) ..< (r * 64 + 64)].prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The ranks whose `value` differs from rank 0's, named with their hosts ("rank 1 (node-b)").
    static func differing(_ value: UInt64, _ collective: Collective) -> [String] {
        let all = collective.allGather(value)
        let bad = all.indices.filter { all[$0] != all[0] }
        guard !bad.isEmpty else { return [] }
        let hosts = hostnames(collective)
        return bad.map { "rank \($0) (\(hosts[$0]))" }
    }

    /// Refuses to start when ranks were given different configurations, flags or data files.
    public static func requireSameRun(config: PretrainConfig, samples: Int, resume: Bool, collective: Collective) throws {
        guard collective.size > 1 else { return }
        var h = Hash()
        h.add(try config.yaml())
        h.add(samples)
        h.add(resume ? 1 : 0)
        for path in [config.dataPath, config.labelPath] {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
            h.add(size)
        }
        let bad = differing(h.value, collective)
        guard bad.isEmpty else {
            throw Mismatch(description: "data-parallel start refused: \(bad.joined(separator: ", ")) got a different "
                + "configuration, flags or data files (sizes of data_path/label_path) than rank 0 on \(collective.hostname); "
                + "every rank must run the same command on the same data")
        }
    }

    /// A checksum of everything training updates: both encoders' parameters and batch-norm
    /// statistics, the momentum buffers, the queue, its pointer and the iteration.
    static func stateChecksum(_ model: AimCLRModel) -> UInt64 {
        var h = Hash()
        let d = model.device
        for encoder in [model.encoderQ, model.encoderK] {
            for p in encoder.parameters {
                h.add(d.read(p.value))
                if let m = p.momentumBuffer { h.add(d.read(m)) }
            }
            for b in encoder.buffers { h.add(d.read(b.value)) }
        }
        h.add(d.read(model.queue.keys))
        h.add(model.queue.pointer)
        h.add(model.iteration)
        return h.value
    }

    /// Stops the run when any rank's state is no longer bit-identical to rank 0's.
    public static func requireSameState(_ model: AimCLRModel, when: String, collective: Collective) throws {
        guard collective.size > 1 else { return }
        let bad = differing(stateChecksum(model), collective)
        guard bad.isEmpty else {
            throw Mismatch(description: "data-parallel ranks drifted apart \(when): the parameters, batch-norm statistics "
                + "or queue of \(bad.joined(separator: ", ")) differ from rank 0's; the run stops (resume from the last "
                + "checkpoint; a rank with a faulty device or a different backend can cause this)")
        }
    }
}
