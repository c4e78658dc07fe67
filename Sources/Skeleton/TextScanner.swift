import Foundation

/// A parse failure in a text skeleton file, with the 1-based line it happened on.
public struct SkeletonFileError: Error, CustomStringConvertible, Equatable {
    public var file: String
    /// 1-based line number; 0 when the error concerns the whole file.
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) { self.file = file; self.line = line; self.reason = reason }
    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// Line and token access over a whole text file held in memory (the raw files are small:
/// an NTU `.skeleton` is at most a few hundred kB). Accepts LF and CRLF line ends.
struct TextScanner {
    let file: String
    private var bytes: [UInt8]
    private var pos = 0
    private(set) var line = 0
    /// Bounds of the current line (without the line end).
    private(set) var lineStart = 0, lineEnd = 0

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SkeletonFileError(file: path, line: 0, reason: "cannot read file")
        }
        self.init(bytes: [UInt8](data), file: path)
    }

    init(bytes: [UInt8], file: String) {
        self.file = file
        self.bytes = bytes
        self.bytes.append(0) // terminator so strtod always stops inside the buffer
    }

    private var size: Int { bytes.count - 1 }
    var atEnd: Bool { pos >= size }

    func error(_ reason: String) -> SkeletonFileError { SkeletonFileError(file: file, line: line, reason: reason) }

    /// Advances to the next line; false at end of file.
    mutating func nextLine() -> Bool {
        guard pos < size else { return false }
        line += 1
        lineStart = pos
        while pos < size, bytes[pos] != 0x0A { pos += 1 }
        lineEnd = pos
        if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if pos < size { pos += 1 }
        return true
    }

    /// Advances to the next line or throws "unexpected end of file" naming what was expected.
    mutating func requireLine(_ expecting: @autoclosure () -> String) throws {
        guard nextLine() else {
            throw SkeletonFileError(file: file, line: line + 1, reason: "unexpected end of file, expected \(expecting())")
        }
    }

    /// Advances past blank lines; false when only blank lines remain.
    mutating func nextNonBlankLine() -> Bool {
        while nextLine() { if !isBlank { return true } }
        return false
    }

    var isBlank: Bool { tokenRanges().isEmpty }

    var text: String { String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self) }


    /// Start/end offsets of the whitespace-separated tokens of the current line.
    func tokenRanges(separators: Set<UInt8> = [0x20, 0x09, 0x0D]) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var i = lineStart
        while i < lineEnd {
            while i < lineEnd, separators.contains(bytes[i]) { i += 1 }
            if i >= lineEnd { break }
            let s = i
            while i < lineEnd, !separators.contains(bytes[i]) { i += 1 }
            out.append((s, i))
        }
        return out
    }

    func token(_ r: (Int, Int)) -> String { String(decoding: bytes[r.0..<r.1], as: UTF8.self) }

    /// Parses a whole token as a Double (C locale; the token must be fully consumed).
    func double(_ r: (Int, Int), what: @autoclosure () -> String) throws -> Double {
        var value = 0.0
        var consumed = 0
        bytes.withUnsafeBufferPointer { buf in
            let start = UnsafeMutablePointer(mutating: buf.baseAddress! + r.0)
            var end: UnsafeMutablePointer<CChar>? = nil
            value = start.withMemoryRebound(to: CChar.self, capacity: r.1 - r.0 + 1) { p in
                let v = strtod(p, &end)
                consumed = end.map { UnsafeRawPointer($0) - UnsafeRawPointer(p) } ?? 0
                return v
            }
        }
        guard consumed == r.1 - r.0 else {
            throw error("\(what()): '\(token(r))' is not a number")
        }
        // Sensors write finite coordinates; nan/inf would poison every batch they reach.
        guard value.isFinite else { throw error("\(what()): '\(token(r))' is not a finite number") }
        return value
    }

    /// A token as a coordinate, `Float(Double(token))`; values beyond float range are refused
    /// (they would become infinite in the float32 arrays).
    func coordinate(_ r: (Int, Int), what: @autoclosure () -> String) throws -> Float {
        let v = Float(try double(r, what: what()))
        guard v.isFinite else { throw error("\(what()): '\(token(r))' is outside the float32 range") }
        return v
    }

    /// Parses the current line as a single non-negative integer.
    func singleInt(what: String) throws -> Int {
        let t = tokenRanges()
        guard t.count == 1 else { throw error("expected \(what) (one integer), found '\(text)'") }
        guard let v = Int(token(t[0])), v >= 0 else { throw error("\(what): '\(token(t[0]))' is not a non-negative integer") }
        return v
    }
}
