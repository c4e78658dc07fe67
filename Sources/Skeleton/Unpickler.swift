import Compute
import Foundation

/// Why a pickle stream could not be decoded; every case names the source and the byte offset.
public enum PickleError: Error, CustomStringConvertible, Equatable {
    case unsupportedOpcode(source: String, opcode: UInt8, offset: Int)
    case truncated(source: String, offset: Int, needed: Int)
    case malformed(source: String, offset: Int, reason: String)
    case cannotOpen(source: String, reason: String)
    case unexpectedStructure(source: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedOpcode(s, op, o):
            let ch = (0x20...0x7E).contains(op) ? " '\(Character(UnicodeScalar(op)))'" : ""
            return "\(s): byte \(o): unsupported pickle opcode 0x\(String(op, radix: 16, uppercase: true))\(ch)"
        case let .truncated(s, o, n): return "\(s): byte \(o): pickle stream ends early (needs \(n) more bytes)"
        case let .malformed(s, o, r): return "\(s): byte \(o): malformed pickle: \(r)"
        case let .cannotOpen(s, r): return "\(s): cannot read pickle: \(r)"
        case let .unexpectedStructure(s, r): return "\(s): unexpected pickle content: \(r)"
        }
    }
}

/// A small unpickler for protocols 0-5's binary opcodes: enough for label files
/// (`pickle.dump((names, labels))`) and the object graph of a PyTorch `data.pkl`.
///
/// Mutable containers live in reference boxes while decoding, because pickle memoizes a
/// list *before* appending to it and later BINGETs must see the filled list.
public struct Unpickler {
    private let bytes: [UInt8]
    private let source: String
    private var pos = 0

    private final class Box {
        enum Kind { case list, dict, object }
        let kind: Kind
        var items: [Item] = []               // list elements, or dict keys/values interleaved
        var callable: Item = .value(.none)   // object only
        var args: Item = .value(.none)
        var state: Item?
        /// Nesting depth of what the box holds (1 when it holds plain values).
        var depth = 1
        init(_ kind: Kind) { self.kind = kind }
    }
    /// Containers carry their nesting depth so a hostile stream cannot build a structure deep
    /// enough to overflow the stack when it is resolved or released.
    private indirect enum Item {
        case value(PickleValue)
        case box(Box)
        case tuple([Item], depth: Int)
        case persistent(Item, depth: Int)
        case mark

        var depth: Int {
            switch self {
            case .value, .mark: return 0
            case let .box(b): return b.depth
            case let .tuple(_, d), let .persistent(_, d): return d
            }
        }
    }

    public init(bytes: [UInt8], source: String = "<pickle>") {
        self.bytes = bytes; self.source = source
    }

    /// Byte offset just past the last decoded pickle (where a following record starts).
    public var offset: Int { pos }

    /// Decodes the pickle in `path`.
    public static func load(path: String) throws -> PickleValue {
        if let problem = InputFile.problem(path) { throw PickleError.cannotOpen(source: path, reason: problem) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PickleError.cannotOpen(source: path, reason: "no such file or unreadable")
        }
        var u = Unpickler(bytes: [UInt8](data), source: path)
        return try u.load()
    }

    private func need(_ n: Int) throws {
        // Compared without `pos + n`, which a hostile 64-bit length would overflow.
        if n > bytes.count - pos { throw PickleError.truncated(source: source, offset: pos, needed: n - (bytes.count - pos)) }
    }
    private mutating func u8() throws -> Int { try need(1); defer { pos += 1 }; return Int(bytes[pos]) }
    private mutating func le(_ n: Int) throws -> UInt64 {
        try need(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[pos + i]) << (8 * UInt64(i)) }
        pos += n
        return v
    }
    /// An 8-byte length field; values beyond `Int.max` become -1 so `take` rejects them.
    private mutating func length8() throws -> Int {
        let v = try le(8)
        return v > UInt64(Int.max) ? -1 : Int(v)
    }
    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0 else { throw PickleError.malformed(source: source, offset: pos, reason: "negative length \(n)") }
        try need(n); defer { pos += n }; return bytes[pos..<pos + n]
    }
    private mutating func line() throws -> String {
        let start = pos
        while pos < bytes.count, bytes[pos] != 0x0A { pos += 1 }
        guard pos < bytes.count else { throw PickleError.truncated(source: source, offset: start, needed: 1) }
        defer { pos += 1 }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    /// Decodes one pickled object (up to STOP).
    public mutating func load() throws -> PickleValue {
        var stack: [Item] = []
        var memo: [Int: Item] = [:]
        func popMark(_ at: Int) throws -> [Item] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else {
                throw PickleError.malformed(source: source, offset: at, reason: "no MARK on the stack")
            }
            let items = Array(stack[(m + 1)...])
            stack.removeSubrange(m...)
            return items
        }
        func pop(_ at: Int) throws -> Item {
            guard let v = stack.popLast() else { throw PickleError.malformed(source: source, offset: at, reason: "stack underflow") }
            return v
        }
        while true {
            let at = pos
            let op = UInt8(try u8())
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                if v > 5 { throw PickleError.malformed(source: source, offset: at, reason: "protocol \(v) is newer than 5") }
            case 0x95: _ = try le(8) // FRAME: framing is only a read-ahead hint
            case 0x2E: // STOP
                var budget = Self.resolveBudget(bytes.count)
                return try resolve(try pop(at), depth: 0, at: at, budget: &budget)
            case 0x28: stack.append(.mark) // MARK
            case 0x4E: stack.append(.value(.none))
            case 0x88: stack.append(.value(.bool(true)))
            case 0x89: stack.append(.value(.bool(false)))
            case 0x4A: stack.append(.value(.int(Int(Int32(bitPattern: UInt32(try le(4))))))) // BININT
            case 0x4B: stack.append(.value(.int(try u8()))) // BININT1
            case 0x4D: stack.append(.value(.int(Int(try le(2))))) // BININT2
            case 0x8A, 0x8B: // LONG1, LONG4
                let n = op == 0x8A ? try u8() : Int(try le(4))
                let raw = try take(n)
                guard n <= 8 else {
                    throw PickleError.malformed(source: source, offset: at, reason: "integer of \(n) bytes exceeds 64 bits")
                }
                var v: UInt64 = 0
                for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                if n > 0, n < 8, raw.last! & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) } // sign-extend
                stack.append(.value(.int(Int(Int64(bitPattern: v)))))
            case 0x49: // INT (text)
                let s = try line()
                if s == "00" { stack.append(.value(.bool(false))) } else if s == "01" { stack.append(.value(.bool(true))) }
                else if let v = Int(s) { stack.append(.value(.int(v))) }
                else { throw PickleError.malformed(source: source, offset: at, reason: "bad INT '\(s)'") }
            case 0x47: stack.append(.value(.float(Double(bitPattern: try beDouble())))) // BINFLOAT (big-endian)
            case 0x58: // BINUNICODE
                let n = Int(try le(4)); stack.append(.value(.string(String(decoding: try take(n), as: UTF8.self))))
            case 0x8C: // SHORT_BINUNICODE
                let n = try u8(); stack.append(.value(.string(String(decoding: try take(n), as: UTF8.self))))
            case 0x8D: // BINUNICODE8
                let n = try length8(); stack.append(.value(.string(String(decoding: try take(n), as: UTF8.self))))
            case 0x43: let n = try u8(); stack.append(.value(.bytes(Array(try take(n))))) // SHORT_BINBYTES
            case 0x42: let n = Int(try le(4)); stack.append(.value(.bytes(Array(try take(n))))) // BINBYTES
            case 0x8E: let n = try length8(); stack.append(.value(.bytes(Array(try take(n))))) // BINBYTES8
            case 0x55: // SHORT_BINSTRING (py2 str): decode as latin-1 text
                let n = try u8(); stack.append(.value(.string(String(decoding: try take(n), as: UTF8.self))))
            case 0x29: stack.append(.tuple([], depth: 1)) // EMPTY_TUPLE
            case 0x85: stack.append(try tuple([try pop(at)], at)) // TUPLE1
            case 0x86: let b = try pop(at), a = try pop(at); stack.append(try tuple([a, b], at)) // TUPLE2
            case 0x87: let c = try pop(at), b = try pop(at), a = try pop(at); stack.append(try tuple([a, b, c], at)) // TUPLE3
            case 0x74: stack.append(try tuple(try popMark(at), at)) // TUPLE
            case 0x5D: stack.append(.box(Box(.list))) // EMPTY_LIST
            case 0x6C: let b = Box(.list); b.items = try popMark(at); try fill(b, b.items, at); stack.append(.box(b)) // LIST
            case 0x7D: stack.append(.box(Box(.dict))) // EMPTY_DICT
            case 0x64: // DICT
                let b = Box(.dict); b.items = try popMark(at); try fill(b, b.items, at)
                guard b.items.count % 2 == 0 else { throw PickleError.malformed(source: source, offset: at, reason: "odd DICT items") }
                stack.append(.box(b))
            case 0x61: // APPEND
                let v = try pop(at)
                guard case let .box(b)? = stack.last, b.kind == .list else {
                    throw PickleError.malformed(source: source, offset: at, reason: "APPEND target is not a list")
                }
                try fill(b, [v], at)
                b.items.append(v)
            case 0x65: // APPENDS
                let items = try popMark(at)
                guard case let .box(b)? = stack.last, b.kind == .list else {
                    throw PickleError.malformed(source: source, offset: at, reason: "APPENDS target is not a list")
                }
                try fill(b, items, at)
                b.items += items
            case 0x73: // SETITEM
                let v = try pop(at), k = try pop(at)
                guard case let .box(b)? = stack.last, b.kind == .dict else {
                    throw PickleError.malformed(source: source, offset: at, reason: "SETITEM target is not a dict")
                }
                try fill(b, [k, v], at)
                b.items += [k, v]
            case 0x75: // SETITEMS
                let items = try popMark(at)
                guard items.count % 2 == 0, case let .box(b)? = stack.last, b.kind == .dict else {
                    throw PickleError.malformed(source: source, offset: at, reason: "SETITEMS needs a dict and key/value pairs")
                }
                try fill(b, items, at)
                b.items += items
            case 0x94: // MEMOIZE
                guard let top = stack.last else { throw PickleError.malformed(source: source, offset: at, reason: "MEMOIZE on empty stack") }
                memo[memo.count] = top
            case 0x71, 0x72: // BINPUT, LONG_BINPUT
                let idx = op == 0x71 ? try u8() : Int(try le(4))
                guard let top = stack.last else { throw PickleError.malformed(source: source, offset: at, reason: "PUT on empty stack") }
                memo[idx] = top
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let idx = op == 0x68 ? try u8() : Int(try le(4))
                guard let v = memo[idx] else { throw PickleError.malformed(source: source, offset: at, reason: "memo \(idx) undefined") }
                stack.append(v)
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(.value(.global(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                var budget = Self.resolveBudget(bytes.count)
                let n = try resolve(try pop(at), depth: 0, at: at, budget: &budget)
                let m = try resolve(try pop(at), depth: 0, at: at, budget: &budget)
                guard case let .string(module) = m, case let .string(name) = n else {
                    throw PickleError.malformed(source: source, offset: at, reason: "STACK_GLOBAL needs two strings")
                }
                stack.append(.value(.global(module: module, name: name)))
            case 0x52, 0x81: // REDUCE, NEWOBJ
                let args = try pop(at), callable = try pop(at)
                // `collections.OrderedDict()` (how torch.save writes a state dict) is a dict
                // that SETITEMS fills next.
                if case .value(.global("collections", "OrderedDict")) = callable {
                    stack.append(.box(Box(.dict))); continue
                }
                let b = Box(.object); try fill(b, [callable, args], at); b.callable = callable; b.args = args
                stack.append(.box(b))
            case 0x62: // BUILD
                let state = try pop(at)
                // BUILD on a dict sets instance attributes (a state dict's `_metadata`); the
                // contents are unchanged.
                if case let .box(d)? = stack.last, d.kind == .dict { continue }
                guard case let .box(b)? = stack.last, b.kind == .object else {
                    // BUILD on a plain value: keep the value, wrap the state.
                    let target = try pop(at)
                    let o = Box(.object); try fill(o, [target, state], at)
                    o.callable = target; o.args = .tuple([], depth: 1); o.state = state
                    stack.append(.box(o)); continue
                }
                try fill(b, [state], at)
                b.state = state
            case 0x51: // BINPERSID
                let id = try pop(at)
                guard id.depth < Self.maxDepth else { throw tooDeep(at) }
                stack.append(.persistent(id, depth: id.depth + 1))
            case 0x30: _ = try pop(at) // POP
            case 0x32: guard let top = stack.last else { throw PickleError.malformed(source: source, offset: at, reason: "DUP on empty stack") }; stack.append(top)
            case 0x31: _ = try popMark(at) // POP_MARK
            default:
                throw PickleError.unsupportedOpcode(source: source, opcode: op, offset: at)
            }
        }
    }

    private func tooDeep(_ at: Int) -> PickleError {
        .malformed(source: source, offset: at, reason: "nesting deeper than \(Self.maxDepth) levels")
    }

    /// A tuple of `items`, refused when it would nest too deeply.
    private func tuple(_ items: [Item], _ at: Int) throws -> Item {
        let d = 1 + (items.map(\.depth).max() ?? 0)
        guard d <= Self.maxDepth else { throw tooDeep(at) }
        return .tuple(items, depth: d)
    }

    /// Records that `box` now holds `items`, refusing structures nested too deeply.
    private func fill(_ box: Box, _ items: [Item], _ at: Int) throws {
        let d = 1 + (items.map(\.depth).max() ?? 0)
        guard d <= Self.maxDepth else { throw tooDeep(at) }
        box.depth = max(box.depth, d)
    }

    private mutating func beDouble() throws -> UInt64 {
        try need(8)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[pos + i]) }
        pos += 8
        return v
    }

    /// Most values one pickle may expand to. Memo references (BINGET) share boxes, so a short
    /// hostile stream can describe an exponentially large or cyclic tree; real files expand to
    /// about one value per opcode.
    private static func resolveBudget(_ byteCount: Int) -> Int { max(1_000_000, 16 * byteCount) }
    /// Deepest nesting accepted: far beyond any real file, well within the thread's stack.
    private static let maxDepth = 500

    private func resolve(_ item: Item, depth: Int, at: Int, budget: inout Int) throws -> PickleValue {
        guard depth < Self.maxDepth else { throw PickleError.malformed(source: source, offset: at, reason: "nesting deeper than \(Self.maxDepth) levels (a cycle?)") }
        budget -= 1
        guard budget >= 0 else { throw PickleError.malformed(source: source, offset: at, reason: "the object graph expands to too many values (shared references)") }
        switch item {
        case let .value(v): return v
        case .mark: throw PickleError.malformed(source: source, offset: at, reason: "MARK left on the stack")
        case let .tuple(items, _): return .tuple(try items.map { try resolve($0, depth: depth + 1, at: at, budget: &budget) })
        case let .persistent(p, _): return .persistent(try resolve(p, depth: depth + 1, at: at, budget: &budget))
        case let .box(b):
            switch b.kind {
            case .list: return .list(try b.items.map { try resolve($0, depth: depth + 1, at: at, budget: &budget) })
            case .dict:
                var pairs: [(PickleValue, PickleValue)] = []
                var i = 0
                while i + 1 < b.items.count {
                    pairs.append((try resolve(b.items[i], depth: depth + 1, at: at, budget: &budget), try resolve(b.items[i + 1], depth: depth + 1, at: at, budget: &budget)))
                    i += 2
                }
                return .dict(pairs)
            case .object:
                return .object(callable: try resolve(b.callable, depth: depth + 1, at: at, budget: &budget),
                               args: try resolve(b.args, depth: depth + 1, at: at, budget: &budget),
                               state: try b.state.map { try resolve($0, depth: depth + 1, at: at, budget: &budget) })
            }
        }
    }
}
