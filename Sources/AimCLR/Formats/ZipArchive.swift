import Foundation

/// A read-only view of a ZIP archive's stored (uncompressed) entries, as PyTorch writes them
/// (`torch.save` since 1.6). Every offset and length is checked against the file size before use.
public struct ZipArchive {
    public struct Entry: Sendable {
        public var name: String
        public var method: UInt16
        public var compressedSize: Int
        public var uncompressedSize: Int
        public var localHeaderOffset: Int
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case malformed(path: String, detail: String)
        case unsupported(path: String, entry: String, detail: String)
        case missing(path: String, entry: String)

        public var description: String {
            switch self {
            case .malformed(let p, let d): return "\(p): not a valid ZIP archive: \(d)"
            case .unsupported(let p, let e, let d): return "\(p): entry '\(e)': \(d)"
            case .missing(let p, let e): return "\(p): no entry named '\(e)'"
            }
        }
    }

    public let path: String
    public let data: Data
    public private(set) var entries: [Entry] = []

    /// True when the data starts with a local file header (a quick format sniff).
    public static func looksLikeZip(_ data: Data) -> Bool {
        data.count >= 4 && data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04])
    }

    public init(path: String, data: Data) throws {
        self.path = path
        self.data = data
        try readCentralDirectory()
    }

    private func fail(_ detail: String) -> Error { .malformed(path: path, detail: detail) }

    private func u16(_ at: Int) throws -> Int {
        guard at >= 0, at + 2 <= data.count else { throw fail("field at \(at) past the end") }
        return data.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian) }
    }

    private func u32(_ at: Int) throws -> Int {
        guard at >= 0, at + 4 <= data.count else { throw fail("field at \(at) past the end") }
        return data.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian) }
    }

    private func u64(_ at: Int) throws -> Int {
        guard at >= 0, at + 8 <= data.count else { throw fail("field at \(at) past the end") }
        let v = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        guard v <= UInt64(Int.max) else { throw fail("64-bit field at \(at) out of range") }
        return Int(v)
    }

    private mutating func readCentralDirectory() throws {
        // The end-of-central-directory record sits in the last 22 + 65,535 bytes.
        guard data.count >= 22 else { throw fail("file too short (\(data.count) bytes)") }
        var eocd = -1
        var i = data.count - 22
        let lowest = max(0, data.count - 22 - 65_535)
        while i >= lowest {
            if try u32(i) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record") }
        var count = try u16(eocd + 10)
        var offset = try u32(eocd + 16)
        // ZIP64: the locator sits right before the classic record.
        if eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 {
            let z64 = try u64(eocd - 20 + 8)
            guard try u32(z64) == 0x0606_4B50 else { throw fail("bad ZIP64 end record") }
            count = try u64(z64 + 32)
            offset = try u64(z64 + 48)
        }
        guard count <= data.count / 46 else { throw fail("entry count \(count) impossible for the file size") }
        var p = offset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad central directory header at \(p)") }
            let method = UInt16(try u16(p + 10))
            var csize = try u32(p + 20)
            var usize = try u32(p + 24)
            let nameLen = try u16(p + 28), extraLen = try u16(p + 30), commentLen = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLen <= data.count else { throw fail("entry name past the end") }
            let name = String(decoding: data[(data.startIndex + p + 46)..<(data.startIndex + p + 46 + nameLen)], as: UTF8.self)
            // ZIP64 extra field (id 1) holds the 64-bit sizes/offset that overflowed.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = try u16(e), len = try u16(e + 2)
                if id == 1 {
                    var f = e + 4
                    if usize == 0xFFFF_FFFF { usize = try u64(f); f += 8 }
                    if csize == 0xFFFF_FFFF { csize = try u64(f); f += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(f) }
                }
                e += 4 + len
            }
            entries.append(Entry(name: name, method: method, compressedSize: csize, uncompressedSize: usize,
                                 localHeaderOffset: local))
            p = extraEnd + commentLen
        }
    }

    /// The entry whose name ends with `suffix` (PyTorch prefixes every name with the archive's folder).
    public func entry(endingWith suffix: String) -> Entry? {
        entries.first { $0.name == suffix || $0.name.hasSuffix("/" + suffix) }
    }

    /// The bytes of a stored entry.
    public func contents(of entry: Entry) throws -> Data {
        guard entry.method == 0 else {
            throw Error.unsupported(path: path, entry: entry.name,
                                    detail: "compression method \(entry.method) (only stored entries are supported, as torch.save writes them)")
        }
        let h = entry.localHeaderOffset
        guard try u32(h) == 0x0403_4B50 else { throw fail("bad local header for '\(entry.name)'") }
        let start = h + 30 + (try u16(h + 26)) + (try u16(h + 28))
        guard start >= 0, entry.compressedSize >= 0, start <= data.count, entry.compressedSize <= data.count - start else {
            throw fail("entry '\(entry.name)' runs past the end of the file")
        }
        return data.subdata(in: (data.startIndex + start)..<(data.startIndex + start + entry.compressedSize))
    }

    public func contents(endingWith suffix: String) throws -> Data {
        guard let e = entry(endingWith: suffix) else { throw Error.missing(path: path, entry: suffix) }
        return try contents(of: e)
    }
}
