import Compute
import Foundation
import NN
import Skeleton

/// Reads PyTorch checkpoints (`torch.save` of a state dict) without Python: the ZIP format of
/// torch >= 1.6 and the legacy format before it, through our own unpickler.
///
/// Tensors are rebuilt from `torch._utils._rebuild_tensor_v2` records (storage, offset, size,
/// stride), so views, transposes and shared storages come out as PyTorch shows them. float32,
/// float64 (converted to float32), int64 and int32 storages are understood.
public enum TorchCheckpoint {
    public enum Error: Swift.Error, CustomStringConvertible {
        case unreadable(path: String, detail: String)
        case malformed(path: String, detail: String)

        public var description: String {
            switch self {
            case .unreadable(let p, let d): return "\(p): cannot read: \(d)"
            case .malformed(let p, let d): return "\(p): not a readable PyTorch checkpoint: \(d)"
            }
        }
    }

    /// The first pickle of a legacy file: PROTO 2, LONG1 of 10 bytes (the magic number), STOP.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    /// The state dict in the file, flattened to `name → tensor`. A dict wrapping the state dict
    /// under `state_dict` or `model` (as many training scripts save it) is unwrapped.
    public static func read(path: String) throws -> [String: HostTensor] {
        let data: Data
        if let problem = InputFile.problem(path) { throw Error.unreadable(path: path, detail: problem) }
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw Error.unreadable(path: path, detail: error.localizedDescription)
        }
        let root: PickleValue
        let storage: (String) throws -> [UInt8]
        if ZipArchive.looksLikeZip(data) {
            let zip = try ZipArchive(path: path, data: data)
            root = try unpickle([UInt8](try zip.contents(endingWith: "data.pkl")), path: path)
            storage = { key in [UInt8](try zip.contents(endingWith: "data/\(key)")) }
        } else {
            (root, storage) = try readLegacy([UInt8](data), path: path)
        }
        return try stateDict(from: root, storage: storage, path: path)
    }

    static func unpickle(_ bytes: [UInt8], path: String) throws -> PickleValue {
        var u = Unpickler(bytes: bytes, source: path)
        return try u.load()
    }

    /// Legacy layout: magic, protocol, sys_info, the object, the storage keys, then for each key
    /// an 8-byte element count followed by the raw storage bytes.
    static func readLegacy(_ bytes: [UInt8], path: String) throws -> (PickleValue, (String) throws -> [UInt8]) {
        guard bytes.count > legacyMagic.count, Array(bytes[0..<legacyMagic.count]) == legacyMagic else {
            throw Error.malformed(path: path, detail: "neither a ZIP archive nor a legacy torch file (bad magic number)")
        }
        let body = Array(bytes[legacyMagic.count...])
        var u = Unpickler(bytes: body, source: path)
        _ = try u.load() // protocol version
        _ = try u.load() // sys_info
        let root = try u.load()
        guard let keys = try u.load().sequence?.compactMap(\.stringValue) else {
            throw Error.malformed(path: path, detail: "storage key list missing")
        }
        // Element sizes come from the storage records; collect them to step over the raw data.
        var sizes: [String: Int] = [:]
        collectStorageRecords(root) { key, elementSize, _ in sizes[key] = elementSize }
        var offsets: [String: (start: Int, bytes: Int)] = [:]
        var p = u.offset
        for key in keys {
            guard p + 8 <= body.count else { throw Error.malformed(path: path, detail: "storage \(key) header past the end") }
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(body[p + i]) << (8 * UInt64(i)) }
            let elementSize = sizes[key] ?? 4
            guard n <= UInt64(body.count), Int(n) <= (body.count - p - 8) / elementSize else {
                throw Error.malformed(path: path, detail: "storage \(key) claims \(n) elements, more than the file holds")
            }
            offsets[key] = (p + 8, Int(n) * elementSize)
            p += 8 + Int(n) * elementSize
        }
        let storage: (String) throws -> [UInt8] = { key in
            guard let o = offsets[key] else { throw Error.malformed(path: path, detail: "no data for storage \(key)") }
            return Array(body[o.start..<(o.start + o.bytes)])
        }
        return (root, storage)
    }

    /// Bytes per element of a storage class such as `torch.FloatStorage`.
    static func elementSize(_ type: PickleValue) -> (size: Int, kind: String)? {
        guard case let .global(_, name) = type else { return nil }
        switch name {
        case "FloatStorage": return (4, "f32")
        case "DoubleStorage": return (8, "f64")
        case "LongStorage": return (8, "i64")
        case "IntStorage": return (4, "i32")
        default: return nil
        }
    }

    /// Calls `body(key, elementSize, kind)` for each storage persistent id in the tree.
    static func collectStorageRecords(_ v: PickleValue, _ body: (String, Int, String) -> Void) {
        switch v {
        case let .persistent(id):
            if let t = id.sequence, t.count >= 5, t[0] == .string("storage"), let key = t[2].stringValue,
               let e = elementSize(t[1]) {
                body(key, e.size, e.kind)
            }
        case let .list(items), let .tuple(items): items.forEach { collectStorageRecords($0, body) }
        case let .dict(pairs): pairs.forEach { collectStorageRecords($0.1, body) }
        case let .object(c, a, s):
            collectStorageRecords(c, body); collectStorageRecords(a, body)
            if let s { collectStorageRecords(s, body) }
        default: break
        }
    }

    static func stateDict(from root: PickleValue, storage: (String) throws -> [UInt8], path: String) throws -> [String: HostTensor] {
        guard case let .dict(pairs) = root else {
            throw Error.malformed(path: path, detail: "the top-level object is not a dict")
        }
        var out: [String: HostTensor] = [:]
        var cache: [String: [UInt8]] = [:]
        for (k, v) in pairs {
            guard let name = k.stringValue else { continue }
            if let tensor = try rebuildTensor(v, storage: { key in
                if let c = cache[key] { return c }
                let b = try storage(key); cache[key] = b; return b
            }, path: path, name: name) {
                out[name] = tensor
            }
        }
        if out.isEmpty {
            for wrapper in ["state_dict", "model", "model_state_dict"] {
                if let inner = root[wrapper], case .dict = inner {
                    return try stateDict(from: inner, storage: storage, path: path)
                }
            }
            throw Error.malformed(path: path, detail: "no tensors found at the top level (keys: \(pairs.compactMap { $0.0.stringValue }.prefix(8)))")
        }
        return out
    }

    /// A tensor from a `_rebuild_tensor_v2` (or `_rebuild_parameter`) record; nil for other values.
    static func rebuildTensor(_ v: PickleValue, storage: (String) throws -> [UInt8], path: String, name: String) throws -> HostTensor? {
        guard case let .object(callable, args, _) = v, case let .global(module, function) = callable,
              module == "torch._utils", let a = args.sequence else { return nil }
        if function == "_rebuild_parameter", let inner = a.first {
            return try rebuildTensor(inner, storage: storage, path: path, name: name)
        }
        guard function == "_rebuild_tensor_v2" || function == "_rebuild_tensor", a.count >= 4,
              case let .persistent(id) = a[0], let rec = id.sequence, rec.count >= 5,
              let key = rec[2].stringValue, let type = elementSize(rec[1]),
              let offset = a[1].intValue, let size = a[2].sequence?.compactMap(\.intValue),
              let stride = a[3].sequence?.compactMap(\.intValue), size.count == stride.count else {
            throw Error.malformed(path: path, detail: "tensor '\(name)' has a record this reader does not understand")
        }
        guard size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw Error.malformed(path: path, detail: "tensor '\(name)' has a negative size, stride or offset")
        }
        let raw = try storage(key)
        let available = raw.count / type.size
        // Element count and the largest element index the view touches, without overflow; both
        // must stay within the storage (a broadcast view may repeat elements, not invent them).
        var count = 1, last = offset, overflow = false
        for (n, st) in zip(size, stride) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            let (reach, o2) = max(n - 1, 0).multipliedReportingOverflow(by: st)
            let (l, o3) = last.addingReportingOverflow(reach)
            count = c; last = l
            overflow = overflow || o1 || o2 || o3
        }
        // More elements than the storage holds means a broadcast view; bound it so a hostile
        // record cannot size a huge allocation.
        guard !overflow, count <= max(available, 1 << 24) else {
            throw Error.malformed(path: path, detail: "tensor '\(name)' has an impossible size \(size)")
        }
        guard count == 0 || last < available else {
            throw Error.malformed(path: path, detail: "tensor '\(name)' (size \(size), stride \(stride), offset \(offset)) reaches past its storage of \(available) elements")
        }
        // Gather the view in row-major order.
        var indices = [Int](repeating: 0, count: count)
        var idx = [Int](repeating: 0, count: size.count)
        for i in 0..<count {
            var e = offset
            for d in 0..<size.count { e += idx[d] * stride[d] }
            indices[i] = e
            var d = size.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < size[d] { break }; idx[d] = 0; d -= 1 }
        }
        return raw.withUnsafeBytes { buf -> HostTensor in
            switch type.kind {
            case "f64":
                return HostTensor(shape: size, floats: indices.map { Float(buf.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) })
            case "i64":
                return HostTensor(shape: size, int64s: indices.map { buf.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) })
            case "i32":
                return HostTensor(shape: size, int64s: indices.map { Int64(buf.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) })
            default:
                return HostTensor(shape: size, floats: indices.map { buf.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) })
            }
        }
    }
}
