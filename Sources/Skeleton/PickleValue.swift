/// A Python object decoded from a pickle stream.
///
/// Only what label files and PyTorch checkpoints contain is represented: scalars, strings,
/// bytes, containers, and opaque `global`/`object` records for class instances (e.g. a
/// `torch._utils._rebuild_tensor_v2` call), which later readers interpret.
public indirect enum PickleValue: Equatable, Sendable, CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// Key/value pairs in insertion order (keys need not be hashable in Swift).
    case dict([(PickleValue, PickleValue)])
    /// A reference to `module.name` (GLOBAL / STACK_GLOBAL).
    case global(module: String, name: String)
    /// `callable(*args)` (REDUCE / NEWOBJ), with the state a later BUILD attached.
    case object(callable: PickleValue, args: PickleValue, state: PickleValue?)
    /// A persistent id (BINPERSID), e.g. PyTorch's storage references.
    case persistent(PickleValue)

    public static func == (a: PickleValue, b: PickleValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)): return x == y
        case let (.dict(x), .dict(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.global(m1, n1), .global(m2, n2)): return m1 == m2 && n1 == n2
        case let (.object(c1, a1, s1), .object(c2, a2, s2)): return c1 == c2 && a1 == a2 && s1 == s2
        case let (.persistent(x), .persistent(y)): return x == y
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .float(d): return String(d)
        case let .string(s): return "'\(s)'"
        case let .bytes(b): return "b<\(b.count) bytes>"
        case let .list(l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case let .tuple(t): return "(" + t.map(\.description).joined(separator: ", ") + (t.count == 1 ? ",)" : ")")
        case let .dict(d): return "{" + d.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        case let .global(m, n): return "\(m).\(n)"
        case let .object(c, a, s): return "\(c)\(a)" + (s.map { " state=\($0)" } ?? "")
        case let .persistent(p): return "persid(\(p))"
        }
    }

    /// The elements of a list or tuple.
    public var sequence: [PickleValue]? {
        switch self {
        case let .list(l), let .tuple(l): return l
        default: return nil
        }
    }
    public var intValue: Int? { if case let .int(i) = self { return i }; if case let .bool(b) = self { return b ? 1 : 0 }; return nil }
    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var doubleValue: Double? {
        switch self {
        case let .float(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }
    /// Looks up a string key in a dict.
    public subscript(key: String) -> PickleValue? {
        guard case let .dict(pairs) = self else { return nil }
        return pairs.first { $0.0 == .string(key) }?.1
    }
}
