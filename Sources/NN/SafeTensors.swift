import Compute
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `write(2)`, named apart from `SafeTensors.write(to:)`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

/// A tensor on the host, as stored in a checkpoint.
public struct HostTensor: Equatable, Sendable {
    public enum Storage: Equatable, Sendable {
        case float32([Float])
        case int64([Int64])
    }
    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) vs \(floats.count) values")
        self.shape = shape
        storage = .float32(floats)
    }

    public init(shape: [Int], int64s: [Int64]) {
        precondition(shape.reduce(1, *) == int64s.count, "shape \(shape) vs \(int64s.count) values")
        self.shape = shape
        storage = .int64(int64s)
    }

    public var count: Int { shape.reduce(1, *) }

    /// The values as floats (integers converted).
    public var floats: [Float] {
        switch storage {
        case .float32(let v): return v
        case .int64(let v): return v.map { Float($0) }
        }
    }

    /// The values as integers (floats truncated; NaN and out-of-range values become 0).
    public var int64s: [Int64] {
        switch storage {
        case .float32(let v): return v.map { $0.isFinite && abs($0) < 9.2e18 ? Int64($0) : 0 }
        case .int64(let v): return v
        }
    }
}

/// Errors reading or writing a safetensors file; each names the file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case io(file: String, detail: String)
    case malformed(file: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)

    public var description: String {
        switch self {
        case .io(let file, let detail): return "\(file): \(detail)"
        case .malformed(let file, let detail): return "\(file): not a valid safetensors file: \(detail)"
        case .unsupportedDType(let file, let tensor, let dtype):
            return "\(file): tensor '\(tensor)' has dtype \(dtype); supported are F32, F64 (read as F32) and I64"
        }
    }
}

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON
/// header mapping tensor names to {dtype, shape, data_offsets} plus an optional `__metadata__`
/// string map, then the raw little-endian tensor bytes.
///
/// F32 and I64 are read and written; F64 is read and converted to F32.
public struct SafeTensors: Equatable, Sendable {
    /// Tensors in file order (written in this order).
    public var entries: [(name: String, tensor: HostTensor)]
    public var metadata: [String: String]

    public init(entries: [(name: String, tensor: HostTensor)] = [], metadata: [String: String] = [:]) {
        self.entries = entries
        self.metadata = metadata
    }

    public static func == (a: SafeTensors, b: SafeTensors) -> Bool {
        a.metadata == b.metadata && a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.name == $1.name && $0.tensor == $1.tensor }
    }

    /// Tensor by name.
    public subscript(name: String) -> HostTensor? {
        entries.first { $0.name == name }?.tensor
    }

    /// Name → tensor.
    public var dictionary: [String: HostTensor] {
        Dictionary(entries.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    }

    /// Largest header accepted (the reference implementation's limit).
    static let maxHeaderBytes = 100_000_000

    // MARK: Reading

    public static func read(contentsOf url: URL) throws -> SafeTensors {
        let data: Data
        if let problem = InputFile.problem(url.path) { throw SafeTensorsError.io(file: url.path, detail: problem) }
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError.io(file: url.path, detail: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, file: url.path)
    }

    /// Parses a whole file held in memory; `file` names it in errors.
    public static func decode(_ data: Data, file: String = "<memory>") throws -> SafeTensors {
        func fail(_ detail: String) -> SafeTensorsError { .malformed(file: file, detail: detail) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let bytes = [UInt8](data)
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(maxHeaderBytes) else { throw fail("header length \(headerLength) exceeds \(maxHeaderBytes)") }
        guard 8 + Int(headerLength) <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let headerBytes = bytes[8 ..< 8 + Int(headerLength)]
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw fail("header is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart

        var metadata: [String: String] = [:]
        struct Raw { let name: String; let dtype: String; let shape: [Int]; let begin: Int; let end: Int }
        var raws: [Raw] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in map {
                    guard let s = v as? String else { throw fail("__metadata__['\(k)'] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry '\(name)' is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail("entry '\(name)' has no string dtype") }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail("entry '\(name)' has no shape array") }
            var shape: [Int] = []
            for d in shapeAny {
                guard let n = (d as? NSNumber)?.intValue, n >= 0, (d as? NSNumber)?.doubleValue == Double(n) else {
                    throw fail("entry '\(name)' has a shape entry that is not a non-negative integer: \(d)")
                }
                shape.append(n)
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue
            else { throw fail("entry '\(name)' has no [begin, end] data_offsets") }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("entry '\(name)' data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
            }
            raws.append(Raw(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        // The data section must be covered exactly, without holes or overlaps.
        var position = 0
        for r in raws.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard r.begin == position else {
                throw fail(r.begin < position ? "entry '\(r.name)' overlaps the previous tensor at byte \(r.begin)"
                                              : "hole in the data section before entry '\(r.name)' (bytes \(position)..<\(r.begin))")
            }
            position = r.end
        }
        guard position == dataSize else { throw fail("data section has \(dataSize) bytes but tensors cover \(position)") }

        var entries: [(name: String, tensor: HostTensor)] = []
        for r in raws.sorted(by: { ($0.begin, $0.name) < ($1.begin, $1.name) }) {
            // Overflow-checked: a hostile shape must not trap or size an allocation.
            var count = 1
            for d in r.shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= (r.end - r.begin) else {
                    throw fail("entry '\(r.name)' has shape \(r.shape), larger than its \(r.end - r.begin) bytes")
                }
                count = p
            }
            let elementSize: Int
            switch r.dtype {
            case "F32": elementSize = 4
            case "F64", "I64": elementSize = 8
            default: throw SafeTensorsError.unsupportedDType(file: file, tensor: r.name, dtype: r.dtype)
            }
            guard r.end - r.begin == count * elementSize else {
                throw fail("entry '\(r.name)' has \(r.end - r.begin) bytes but shape \(r.shape) × \(r.dtype) needs \(count * elementSize)")
            }
            let base = dataStart + r.begin
            let tensor: HostTensor = bytes.withUnsafeBufferPointer { buf in
                let raw = UnsafeRawBufferPointer(buf)
                switch r.dtype {
                case "F32":
                    var v = [Float](repeating: 0, count: count)
                    for i in 0..<count {
                        v[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self)))
                    }
                    return HostTensor(shape: r.shape, floats: v)
                case "F64":
                    var v = [Float](repeating: 0, count: count)
                    for i in 0..<count {
                        v[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * i, as: UInt64.self))))
                    }
                    return HostTensor(shape: r.shape, floats: v)
                default:
                    var v = [Int64](repeating: 0, count: count)
                    for i in 0..<count {
                        v[i] = Int64(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * i, as: UInt64.self)))
                    }
                    return HostTensor(shape: r.shape, int64s: v)
                }
            }
            entries.append((r.name, tensor))
        }
        return SafeTensors(entries: entries, metadata: metadata)
    }

    // MARK: Writing

    /// The file bytes: header padded with spaces to a multiple of 8, tensors in entry order.
    public func encode() -> Data {
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { "\(Self.jsonString($0)):\(Self.jsonString(metadata[$0]!))" }
                .joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        for (name, t) in entries {
            let size: Int
            let dtype: String
            switch t.storage {
            case .float32: size = 4 * t.count; dtype = "F32"
            case .int64: size = 8 * t.count; dtype = "I64"
            }
            if !first { header += "," }
            first = false
            header += "\(Self.jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for (_, t) in entries {
            switch t.storage {
            case .float32(let v):
                let le = v.map { $0.bitPattern.littleEndian }
                le.withUnsafeBytes { out.append(contentsOf: $0) }
            case .int64(let v):
                let le = v.map { $0.littleEndian }
                le.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Writes atomically: a temporary file beside the target, fsync, rename, fsync of the folder.
    /// A crash leaves either the old file or the new one, never a torn one.
    /// `beforeRename` runs once the temporary file is complete and synced (fault-injection tests
    /// use it to widen the window in which a kill lands mid-write).
    public func write(to url: URL, beforeRename: () -> Void = {}) throws {
        try Self.atomicWrite(encode(), to: url, beforeRename: beforeRename)
    }

    static func atomicWrite(_ data: Data, to url: URL, beforeRename: () -> Void = {}) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temp = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError.io(file: path, detail: "cannot create temporary file \(temp): \(String(cString: strerror(errno)))")
        }
        var written = 0
        let ok: Bool = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return true
        }
        if !ok || fsync(fd) != 0 {
            let why = String(cString: strerror(errno))
            close(fd)
            unlink(temp)
            throw SafeTensorsError.io(file: path, detail: "writing \(data.count) bytes failed after \(written): \(why)")
        }
        close(fd)
        beforeRename()
        guard rename(temp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temp)
            throw SafeTensorsError.io(file: path, detail: "cannot rename temporary file into place: \(why)")
        }
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// A JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
