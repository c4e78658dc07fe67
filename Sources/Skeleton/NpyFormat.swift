import Foundation

/// Element types the `.npy` reader and writer understand: little-endian numbers only,
/// because every array the pipeline exchanges with NumPy is little-endian.
public enum NpyDType: String, Sendable, CaseIterable {
    case float32 = "<f4"
    case float64 = "<f8"
    case int64 = "<i8"
    case int32 = "<i4"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    /// Accepts NumPy's spellings of the same little-endian type (`<f4`, `f4`, `float32`).
    init?(descr: String) {
        switch descr {
        case "<f4", "f4", "float32": self = .float32
        case "<f8", "f8", "float64": self = .float64
        case "<i8", "i8", "int64": self = .int64
        case "<i4", "i4", "int32": self = .int32
        default: return nil
        }
    }
}

/// Why an `.npy` file could not be read or written. Every case names the file.
public enum NpyError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String)
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    case truncatedHeader(path: String, needed: Int, available: Int)
    case badHeader(path: String, offset: Int, reason: String)
    case unsupportedDType(path: String, descr: String)
    case fortranOrder(path: String)
    case truncatedData(path: String, needed: Int, available: Int)
    case typeMismatch(path: String, expected: NpyDType, actual: NpyDType)
    case writeFailed(path: String, reason: String)
    case countMismatch(path: String, expected: Int, written: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(p, r): return "\(p): cannot open .npy file: \(r)"
        case let .badMagic(p): return "\(p): not a .npy file (byte 0: magic \\x93NUMPY missing)"
        case let .unsupportedVersion(p, a, b): return "\(p): byte 6: unsupported .npy version \(a).\(b) (1.0, 2.0 and 3.0 are read)"
        case let .truncatedHeader(p, n, a): return "\(p): truncated .npy header: needs \(n) bytes, file has \(a)"
        case let .badHeader(p, o, r): return "\(p): byte \(o): malformed .npy header: \(r)"
        case let .unsupportedDType(p, d): return "\(p): unsupported dtype '\(d)' (little-endian <f4, <f8, <i8, <i4 are read)"
        case let .fortranOrder(p): return "\(p): fortran_order True is not supported; save the array in C order (np.ascontiguousarray)"
        case let .truncatedData(p, n, a): return "\(p): truncated .npy data: shape needs \(n) bytes after the header, file has \(a)"
        case let .typeMismatch(p, e, a): return "\(p): expected dtype \(e.rawValue), file holds \(a.rawValue)"
        case let .writeFailed(p, r): return "\(p): write failed: \(r)"
        case let .countMismatch(p, e, w): return "\(p): header promises \(e) elements but \(w) were written"
        }
    }
}

/// The parsed `.npy` header: dtype, shape and where the data starts.
public struct NpyHeader: Equatable, Sendable {
    public var dtype: NpyDType
    public var shape: [Int]
    /// Byte offset of the first element.
    public var dataOffset: Int

    public var count: Int { shape.reduce(1, *) }

    /// Parses the header at the start of `bytes` (at least the first 10/12 bytes plus the header text).
    /// `path` only labels errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> NpyHeader {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 8 else { throw NpyError.truncatedHeader(path: path, needed: 10, available: bytes.count) }
        for i in 0..<6 where bytes[i] != magic[i] { throw NpyError.badMagic(path: path) }
        let major = bytes[6], minor = bytes[7]
        let headerLength: Int, textStart: Int
        switch major {
        case 1:
            guard bytes.count >= 10 else { throw NpyError.truncatedHeader(path: path, needed: 10, available: bytes.count) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            textStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NpyError.truncatedHeader(path: path, needed: 12, available: bytes.count) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            textStart = 12
        default:
            throw NpyError.unsupportedVersion(path: path, major: major, minor: minor)
        }
        guard minor == 0 else { throw NpyError.unsupportedVersion(path: path, major: major, minor: minor) }
        let end = textStart + headerLength
        guard bytes.count >= end else { throw NpyError.truncatedHeader(path: path, needed: end, available: bytes.count) }
        // Version 3 allows UTF-8; the keys and values used here are ASCII either way.
        guard let text = String(bytes: bytes[textStart..<end], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw NpyError.badHeader(path: path, offset: textStart, reason: "header text is not valid text")
        }
        let dict = try NpyHeaderDict.parse(text, path: path, base: textStart)
        guard let descr = dict.descr else {
            throw NpyError.badHeader(path: path, offset: textStart, reason: "missing 'descr'")
        }
        guard let dtype = NpyDType(descr: descr) else { throw NpyError.unsupportedDType(path: path, descr: descr) }
        guard let fortran = dict.fortranOrder else {
            throw NpyError.badHeader(path: path, offset: textStart, reason: "missing 'fortran_order'")
        }
        if fortran { throw NpyError.fortranOrder(path: path) }
        guard let shape = dict.shape else {
            throw NpyError.badHeader(path: path, offset: textStart, reason: "missing 'shape'")
        }
        // A hostile shape must not overflow `count` or `count * dtype.size` later.
        var bytesNeeded = dtype.size
        for d in shape {
            let (p, overflow) = bytesNeeded.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw NpyError.badHeader(path: path, offset: textStart, reason: "shape \(shape) is too large to address")
            }
            bytesNeeded = p
        }
        return NpyHeader(dtype: dtype, shape: shape, dataOffset: end)
    }

    /// Serialises a version 1.0 header (or 2.0 when the text exceeds 65535 bytes), padded with
    /// spaces and a newline so the data starts on a 64-byte boundary, as NumPy does.
    /// `reserveDigits` widens the padding so the first dimension can later grow to that many
    /// digits without moving the data (used by streaming writers that learn N at the end).
    public static func encode(dtype: NpyDType, shape: [Int], reserveDigits: Int = 0) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dictText = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        var minimal = dictText.utf8.count + 1  // + "\n"
        if let first = shape.first { minimal += max(0, reserveDigits - String(first).count) }
        let version2 = 10 + minimal > 65535
        let prefix = version2 ? 12 : 10
        var total = prefix + minimal
        total = (total + 63) / 64 * 64
        let headerLength = total - prefix
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version2 ? 2 : 1, 0]
        out.append(UInt8(headerLength & 0xFF)); out.append(UInt8((headerLength >> 8) & 0xFF))
        if version2 { out.append(UInt8((headerLength >> 16) & 0xFF)); out.append(UInt8((headerLength >> 24) & 0xFF)) }
        out.append(contentsOf: Array(dictText.utf8))
        while out.count < total - 1 { out.append(0x20) }
        out.append(0x0A)
        return out
    }
}

/// A minimal reader for the Python-literal dict NumPy writes in a header:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3, 300, 25, 2), }`.
struct NpyHeaderDict {
    var descr: String?
    var fortranOrder: Bool?
    var shape: [Int]?

    static func parse(_ text: String, path: String, base: Int) throws -> NpyHeaderDict {
        let chars = Array(text.utf8)
        var i = 0
        var result = NpyHeaderDict()
        func fail(_ reason: String) -> NpyError { .badHeader(path: path, offset: base + i, reason: reason) }
        func skipSpace() { while i < chars.count, chars[i] == 0x20 || chars[i] == 0x0A || chars[i] == 0x09 || chars[i] == 0x0D { i += 1 } }
        func string() throws -> String {
            guard i < chars.count, chars[i] == 0x27 || chars[i] == 0x22 else { throw fail("expected a quoted string") }
            let quote = chars[i]; i += 1
            let start = i
            while i < chars.count, chars[i] != quote { i += 1 }
            guard i < chars.count else { throw fail("unterminated string") }
            let s = String(decoding: chars[start..<i], as: UTF8.self)
            i += 1
            return s
        }
        func integer() throws -> Int {
            let start = i
            while i < chars.count, chars[i] >= 0x30 && chars[i] <= 0x39 { i += 1 }
            // NumPy may write "3L" in very old files.
            guard i > start, let v = Int(String(decoding: chars[start..<i], as: UTF8.self)) else { throw fail("expected an integer") }
            if i < chars.count, chars[i] == 0x4C { i += 1 }
            return v
        }
        skipSpace()
        guard i < chars.count, chars[i] == 0x7B else { throw fail("expected '{'") }
        i += 1
        while true {
            skipSpace()
            guard i < chars.count else { throw fail("unterminated dict") }
            if chars[i] == 0x7D { break }
            let key = try string()
            skipSpace()
            guard i < chars.count, chars[i] == 0x3A else { throw fail("expected ':' after '\(key)'") }
            i += 1
            skipSpace()
            switch key {
            case "descr":
                guard i < chars.count, chars[i] == 0x27 || chars[i] == 0x22 else {
                    throw fail("structured dtypes are not supported")
                }
                result.descr = try string()
            case "fortran_order":
                if text.utf8.dropFirst(i).starts(with: "True".utf8) { result.fortranOrder = true; i += 4 }
                else if text.utf8.dropFirst(i).starts(with: "False".utf8) { result.fortranOrder = false; i += 5 }
                else { throw fail("fortran_order must be True or False") }
            case "shape":
                guard i < chars.count, chars[i] == 0x28 else { throw fail("expected '(' for shape") }
                i += 1
                var dims: [Int] = []
                while true {
                    skipSpace()
                    guard i < chars.count else { throw fail("unterminated shape") }
                    if chars[i] == 0x29 { i += 1; break }
                    dims.append(try integer())
                    skipSpace()
                    if i < chars.count, chars[i] == 0x2C { i += 1 }
                }
                result.shape = dims
            default:
                throw fail("unknown key '\(key)'")
            }
            skipSpace()
            if i < chars.count, chars[i] == 0x2C { i += 1 }
        }
        return result
    }
}
