import Compute
import Foundation
import NN

/// The checkpoint files of a work folder, whatever run wrote them (pre-training or supervised
/// training): names (`epochN_model.safetensors`, `epochN_partialK_model.safetensors` for a run
/// stopped inside epoch N after K steps), listing newest first, the content checksum, reading with
/// the format and checksum checked, and the SGD momentum buffers stored beside the weights.
public enum CheckpointFiles {
    public enum Error: Swift.Error, CustomStringConvertible {
        case notACheckpoint(file: String, kind: String, detail: String)
        case checksumMismatch(file: String)
        case incompatible(file: String, detail: String)

        public var description: String {
            switch self {
            case .notACheckpoint(let f, let k, let d): return "\(f): not a \(k) checkpoint: \(d)"
            case .checksumMismatch(let f): return "\(f): checksum mismatch (the file is corrupt)"
            case .incompatible(let f, let d): return "\(f): does not fit this run: \(d)"
            }
        }
    }

    public static func fileName(epoch: Int) -> String { "epoch\(epoch)_model.safetensors" }

    /// A checkpoint written when a run is stopped inside `epoch` after `iterations` of its steps.
    public static func partialFileName(epoch: Int, iterations: Int) -> String {
        "epoch\(epoch)_partial\(iterations)_model.safetensors"
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
    /// steps of the next one.
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

    /// Deletes the temporary files that killed runs left behind: every atomic write here goes
    /// through `.NAME.tmp-PID` (checkpoints, `config.yaml`, the `latest` link, arrays and labels),
    /// and a kill between its creation and the rename leaves it. They are never read, only taking
    /// space. Files of this process and of processes still running are kept. Call before
    /// training in `directory` starts.
    public static func removeStaleTemporaries(in directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...].prefix(while: \.isNumber)), pid > 0, pid != getpid()
            else { continue }
            // Signal 0 only asks whether the process exists (EPERM: it does, under another user).
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            unlink(directory.appendingPathComponent(name).path)
        }
    }

    /// Fault injection for crash tests: `AIMCLR_CHECKPOINT_DELAY_MS=N` holds every checkpoint for
    /// N milliseconds between its synced temporary file and the rename into place, so a kill can
    /// be aimed at the middle of a write. Unset (the normal case) it does nothing.
    static func injectedDelay() {
        guard let text = ProcessInfo.processInfo.environment["AIMCLR_CHECKPOINT_DELAY_MS"],
              let ms = UInt32(text), ms > 0 else { return }
        usleep(min(ms, 60_000) * 1000)
    }

    /// Writes `entries` with `metadata` plus their checksum, atomically (temporary file, fsync, rename).
    static func write(_ entries: [(name: String, tensor: HostTensor)], metadata: [String: String], to url: URL) throws {
        var m = metadata
        m["checksum_fnv1a64"] = checksum(entries)
        try SafeTensors(entries: entries, metadata: m).write(to: url, beforeRename: injectedDelay)
    }

    /// Reads a checkpoint of `format` (its metadata's "format"), checking the checksum.
    static func read(_ url: URL, format: String, kind: String) throws -> SafeTensors {
        let file = try SafeTensors.read(contentsOf: url)
        guard file.metadata["format"] == format else {
            throw Error.notACheckpoint(file: url.path, kind: kind, detail: "format '\(file.metadata["format"] ?? "none")', expected '\(format)'")
        }
        guard let sum = file.metadata["checksum_fnv1a64"], sum == checksum(file.entries) else {
            throw Error.checksumMismatch(file: url.path)
        }
        return file
    }

    /// The configuration a checkpoint of `format` stores as JSON under the metadata key `key`.
    static func storedConfig<C: Decodable>(_ url: URL, format: String, kind: String, key: String = "config") throws -> C {
        let file = try read(url, format: format, kind: kind)
        guard let json = file.metadata[key]?.data(using: .utf8), let config = try? JSONDecoder().decode(C.self, from: json) else {
            throw Error.notACheckpoint(file: url.path, kind: kind, detail: "no readable configuration in its metadata")
        }
        return config
    }

    /// The first of `resumeCandidates` that `load` accepts, warning about (and skipping) the others.
    static func newest<T>(in directory: URL, warn: (String) -> Void, _ load: (URL) throws -> T) -> T? {
        for (_, url) in resumeCandidates(in: directory) {
            do { return try load(url) } catch { warn("warning: skipping checkpoint \(url.lastPathComponent): \(error)") }
        }
        return nil
    }

    /// The SGD momentum buffers of `parameters` as `prefix + name + ".momentum_buffer"` tensors
    /// (parameters that have not stepped yet have none).
    static func momentumEntries(_ parameters: [Parameter], prefix: String) -> [(name: String, tensor: HostTensor)] {
        parameters.compactMap { p in
            p.momentumBuffer.map { ("\(prefix)\(p.name).momentum_buffer", HostTensor(shape: p.shape, floats: p.device.read($0))) }
        }
    }

    /// Restores the buffers `momentumEntries` wrote; a parameter without one gets none (its next
    /// step is a first step, as after the save).
    static func restoreMomentum(_ parameters: [Parameter], from tensors: [String: HostTensor], prefix: String, file: String) throws {
        for p in parameters {
            guard let t = tensors["\(prefix)\(p.name).momentum_buffer"] else {
                p.momentumBuffer = nil
                continue
            }
            guard t.shape == p.shape else {
                throw Error.incompatible(file: file, detail: "momentum buffer of \(p.name) has shape \(t.shape)")
            }
            let buffer = try p.momentumBuffer ?? p.device.makeTensor(p.shape)
            t.floats.withUnsafeBufferPointer { p.device.upload($0, to: buffer) }
            p.momentumBuffer = buffer
        }
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
