import Foundation
import NN

/// Pretraining checkpoints: one safetensors file per save, named `epoch{N}_model.safetensors`.
///
/// Tensor names are the reference state-dict names (`encoder_q.…`, `encoder_k.…`, `queue`,
/// `queue_ptr`), so the weights load in PyTorch unchanged. The training state sits beside them
/// in the same file: `optimizer.encoder_q.<name>.momentum_buffer` tensors and metadata (epoch,
/// iteration, configuration) plus a content checksum. Files are written atomically (temporary
/// file, fsync, rename), so a kill never leaves a torn checkpoint under the final name.
public enum PretrainCheckpoint {
    public static let format = "aimclr-pretrain-1"

    public enum Error: Swift.Error, CustomStringConvertible {
        case notACheckpoint(file: String, detail: String)
        case checksumMismatch(file: String)
        case incompatible(file: String, detail: String)

        public var description: String {
            switch self {
            case .notACheckpoint(let f, let d): return "\(f): not a pretraining checkpoint: \(d)"
            case .checksumMismatch(let f): return "\(f): checksum mismatch (the file is corrupt)"
            case .incompatible(let f, let d): return "\(f): does not fit this run: \(d)"
            }
        }
    }

    /// What a checkpoint says about the run it came from.
    public struct State: Sendable {
        /// Last completed epoch (1-based).
        public var epoch: Int
        public var iteration: Int
        /// Iterations of epoch `epoch + 1` already trained (a run stopped by a signal); 0 otherwise.
        public var partialIterations: Int = 0
    }

    public static func fileName(epoch: Int) -> String { "epoch\(epoch)_model.safetensors" }

    /// A checkpoint written when a run is stopped inside `epoch` after `iterations` of its iterations.
    public static func partialFileName(epoch: Int, iterations: Int) -> String {
        "epoch\(epoch)_partial\(iterations)_model.safetensors"
    }

    /// Writes the model, queue and optimiser state after `epoch` completed (and, when
    /// `partialIterations` > 0, that many iterations of the next epoch).
    /// `provenance` (version, commit, command line, device, host, start) joins the metadata.
    public static func save(_ model: AimCLRModel, epoch: Int, partialIterations: Int = 0, provenance: Provenance? = nil,
                            to url: URL) throws {
        var entries = model.encoderQ.exportState(prefix: "encoder_q.")
        entries += model.encoderK.exportState(prefix: "encoder_k.")
        let d = model.device
        entries.append(("queue", HostTensor(shape: model.queue.keys.shape, floats: d.read(model.queue.keys))))
        entries.append(("queue_ptr", HostTensor(shape: [1], int64s: [Int64(model.queue.pointer)])))
        for p in model.encoderQ.parameters {
            if let buffer = p.momentumBuffer {
                entries.append(("optimizer.encoder_q.\(p.name).momentum_buffer",
                                HostTensor(shape: p.shape, floats: d.read(buffer))))
            }
        }
        let configJSON = (try? String(data: JSONEncoder().encode(model.config), encoding: .utf8)) ?? "{}"
        var metadata = [
            "format": format,
            "epoch": String(epoch),
            "iteration": String(model.iteration),
            "config": configJSON,
            "checksum_fnv1a64": checksum(entries),
        ]
        if partialIterations > 0 { metadata["partial_iterations"] = String(partialIterations) }
        if let provenance { metadata.merge(provenance.metadata) { own, _ in own } }
        try SafeTensors(entries: entries, metadata: metadata).write(to: url, beforeRename: injectedDelay)
    }

    /// Fault injection for crash tests: `AIMCLR_CHECKPOINT_DELAY_MS=N` holds every checkpoint for
    /// N milliseconds between its synced temporary file and the rename into place, so a kill can
    /// be aimed at the middle of a write. Unset (the normal case) it does nothing.
    static func injectedDelay() {
        guard let text = ProcessInfo.processInfo.environment["AIMCLR_CHECKPOINT_DELAY_MS"],
              let ms = UInt32(text), ms > 0 else { return }
        usleep(min(ms, 60_000) * 1000)
    }

    /// Loads a checkpoint into `model` (same configuration) and returns where the run stood.
    public static func load(_ url: URL, into model: AimCLRModel) throws -> State {
        let file = try SafeTensors.read(contentsOf: url)
        let path = url.path
        guard file.metadata["format"] == format else {
            throw Error.notACheckpoint(file: path, detail: "format '\(file.metadata["format"] ?? "none")', expected '\(format)'")
        }
        guard let sum = file.metadata["checksum_fnv1a64"], sum == checksum(file.entries) else {
            throw Error.checksumMismatch(file: path)
        }
        guard let epoch = Int(file.metadata["epoch"] ?? ""), let iteration = Int(file.metadata["iteration"] ?? "") else {
            throw Error.notACheckpoint(file: path, detail: "metadata lacks epoch/iteration")
        }
        let tensors = file.dictionary
        do {
            try model.encoderQ.importState(tensors, prefix: "encoder_q.")
            try model.encoderK.importState(tensors, prefix: "encoder_k.")
        } catch {
            throw Error.incompatible(file: path, detail: "\(error)")
        }
        guard let queue = tensors["queue"], queue.shape == model.queue.keys.shape,
              let ptr = tensors["queue_ptr"]?.int64s.first, ptr >= 0, Int(ptr) < model.queue.size else {
            throw Error.incompatible(file: path, detail: "queue or queue_ptr missing or of another size")
        }
        let d = model.device
        queue.floats.withUnsafeBufferPointer { d.upload($0, to: model.queue.keys) }
        model.queue.restore(pointer: Int(ptr))
        for p in model.encoderQ.parameters {
            guard let t = tensors["optimizer.encoder_q.\(p.name).momentum_buffer"] else {
                p.momentumBuffer = nil
                continue
            }
            guard t.shape == p.shape else {
                throw Error.incompatible(file: path, detail: "momentum buffer of \(p.name) has shape \(t.shape)")
            }
            let buffer = try p.momentumBuffer ?? d.makeTensor(p.shape)
            t.floats.withUnsafeBufferPointer { d.upload($0, to: buffer) }
            p.momentumBuffer = buffer
        }
        model.iteration = iteration
        return State(epoch: epoch, iteration: iteration, partialIterations: Int(file.metadata["partial_iterations"] ?? "") ?? 0)
    }

    /// The configuration stored in a checkpoint that reads cleanly (format and checksum checked).
    public static func storedConfig(_ url: URL) throws -> PretrainConfig {
        let file = try SafeTensors.read(contentsOf: url)
        guard file.metadata["format"] == format else {
            throw Error.notACheckpoint(file: url.path, detail: "format '\(file.metadata["format"] ?? "none")', expected '\(format)'")
        }
        guard file.metadata["checksum_fnv1a64"] == checksum(file.entries) else { throw Error.checksumMismatch(file: url.path) }
        guard let json = file.metadata["config"]?.data(using: .utf8),
              let config = try? JSONDecoder().decode(PretrainConfig.self, from: json) else {
            throw Error.notACheckpoint(file: url.path, detail: "no readable configuration in its metadata")
        }
        return config
    }

    /// The newest checkpoint that reads cleanly and its configuration, warning about broken ones.
    public static func newestConfig(in directory: URL, warn: (String) -> Void) -> (url: URL, config: PretrainConfig)? {
        for (_, url) in resumeCandidates(in: directory) {
            do { return (url, try storedConfig(url)) } catch { warn("warning: skipping checkpoint \(url.lastPathComponent): \(error)") }
        }
        return nil
    }

    /// Checkpoints of completed epochs in `directory`, newest epoch first.
    public static func candidates(in directory: URL) -> [(epoch: Int, url: URL)] {
        parsed(in: directory).filter { $0.partial == 0 }.map { ($0.epoch, $0.url) }
    }

    /// Every checkpoint a resume may start from, newest first: a stopped run's partial checkpoint of
    /// epoch E ranks after the one of epoch E - 1 and before the one of epoch E.
    public static func resumeCandidates(in directory: URL) -> [(epoch: Int, url: URL)] {
        parsed(in: directory).map { ($0.epoch, $0.url) }
    }

    /// Checkpoint files sorted newest first; `epoch` is the last completed epoch, `partial` the
    /// iterations of the next one.
    static func parsed(in directory: URL) -> [(epoch: Int, partial: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, Int, URL)? in
            guard name.hasPrefix("epoch"), name.hasSuffix("_model.safetensors") else { return nil }
            let middle = name.dropFirst(5).dropLast("_model.safetensors".count)
            let url = directory.appendingPathComponent(name)
            if let e = Int(middle) { return (e, 0, url) }
            let parts = middle.split(separator: "_")
            guard parts.count == 2, parts[1].hasPrefix("partial"), let e = Int(parts[0]), e >= 1,
                  let n = Int(parts[1].dropFirst(7)), n > 0 else { return nil }
            return (e - 1, n, url)
        }.sorted { ($0.0, $0.1) > ($1.0, $1.1) }
    }

    /// Removes partial checkpoints older than the completed epoch `epoch` (a later full save supersedes them).
    static func removePartials(upTo epoch: Int, in directory: URL) {
        for c in parsed(in: directory) where c.partial > 0 && c.epoch < epoch { unlink(c.url.path) }
    }

    /// Deletes temporary files that killed runs left behind (`.epochN_model.safetensors.tmp-PID`);
    /// they are never read, only taking space. Call before training in `directory` starts.
    public static func removeStaleTemporaries(in directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".epoch") && name.contains("_model.safetensors.tmp-")
            && !name.hasSuffix(".tmp-\(getpid())") {
            unlink(directory.appendingPathComponent(name).path)
        }
    }

    /// Loads the newest checkpoint that reads cleanly, warning about (and skipping) broken ones.
    public static func resumeLatest(in directory: URL, into model: AimCLRModel,
                                    warn: (String) -> Void) throws -> State? {
        for (_, url) in resumeCandidates(in: directory) {
            do {
                return try load(url, into: model)
            } catch {
                warn("warning: skipping checkpoint \(url.lastPathComponent): \(error)")
            }
        }
        return nil
    }

    /// FNV-1a (64-bit) over names, shapes and raw values of every tensor, in file order.
    static func checksum(_ entries: [(name: String, tensor: HostTensor)]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        @inline(__always) func mix(_ bytes: UnsafeRawBufferPointer) {
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        for (name, t) in entries where !name.isEmpty {
            var n = name
            n.withUTF8 { mix(UnsafeRawBufferPointer($0)) }
            for s in t.shape { withUnsafeBytes(of: Int64(s).littleEndian) { mix($0) } }
            switch t.storage {
            case .float32(let v): v.withUnsafeBytes { mix($0) }
            case .int64(let v): v.withUnsafeBytes { mix($0) }
            }
        }
        return String(h, radix: 16)
    }
}
