import Foundation

/// The `{part}_label.pkl` file of the reference pipeline: a pickled 2-tuple
/// `(sample_names, labels)`, names with their file suffix and labels as 0-based ints.
public struct LabelFile: Equatable, Sendable {
    public var names: [String]
    public var labels: [Int]

    public init(names: [String], labels: [Int]) {
        precondition(names.count == labels.count, "\(names.count) names but \(labels.count) labels")
        self.names = names; self.labels = labels
    }

    /// Reads a label pickle (protocol 2-5, as written by Python 3.6 ... 3.12).
    public static func read(_ path: String) throws -> LabelFile {
        let value = try Unpickler.load(path: path)
        guard let pair = value.sequence, pair.count == 2,
              let names = pair[0].sequence, let labels = pair[1].sequence else {
            throw PickleError.unexpectedStructure(source: path, reason: "expected a 2-tuple (names, labels), got \(value.description.prefix(80))")
        }
        guard names.count == labels.count else {
            throw PickleError.unexpectedStructure(source: path, reason: "\(names.count) names but \(labels.count) labels")
        }
        var ns: [String] = [], ls: [Int] = []
        ns.reserveCapacity(names.count); ls.reserveCapacity(labels.count)
        for (i, (n, l)) in zip(names, labels).enumerated() {
            guard let s = n.stringValue else { throw PickleError.unexpectedStructure(source: path, reason: "name \(i) is \(n), not a str") }
            guard let v = l.intValue else { throw PickleError.unexpectedStructure(source: path, reason: "label \(i) is \(l), not an int") }
            ns.append(s); ls.append(v)
        }
        return LabelFile(names: ns, labels: ls)
    }

    /// Writes `(names, labels)` as a protocol-2 pickle atomically (temp file + rename);
    /// Python's `pickle.load` returns the same tuple of two lists.
    public func write(to path: String) throws {
        let bytes = Pickler.encodeNamesAndLabels(names: names, labels: labels)
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp-\(getpid())")
        do {
            try Data(bytes).write(to: tmp)
            guard rename(tmp.path, path) == 0 else {
                throw PickleError.cannotOpen(source: path, reason: "rename failed: \(String(cString: strerror(errno)))")
            }
        } catch let e as PickleError { unlink(tmp.path); throw e } catch {
            unlink(tmp.path)
            throw PickleError.cannotOpen(source: path, reason: "write failed: \(error)")
        }
    }
}

/// Writes the few Python values label files need, as protocol 2 opcodes.
public enum Pickler {
    /// `pickle.dumps((names, labels), protocol=2)`-compatible bytes (no memo entries; the
    /// values are distinct and acyclic, so Python loads an equal object).
    public static func encodeNamesAndLabels(names: [String], labels: [Int]) -> [UInt8] {
        var out: [UInt8] = [0x80, 0x02]
        func list<T>(_ items: [T], _ encode: (T, inout [UInt8]) -> Void) {
            out.append(0x5D) // EMPTY_LIST
            var i = 0
            while i < items.count { // APPENDS in batches of 1000, as CPython does
                let end = min(i + 1000, items.count)
                out.append(0x28)
                for item in items[i..<end] { encode(item, &out) }
                out.append(0x65)
                i = end
            }
        }
        list(names) { s, o in
            let u = Array(s.utf8)
            o.append(0x58)
            o += withUnsafeBytes(of: UInt32(u.count).littleEndian, Array.init)
            o += u
        }
        list(labels) { v, o in encodeInt(v, into: &o) }
        out.append(0x86) // TUPLE2
        out.append(0x2E) // STOP
        return out
    }

    /// BININT1 / BININT2 / BININT / LONG1, the shortest that fits, as CPython chooses.
    public static func encodeInt(_ v: Int, into o: inout [UInt8]) {
        if v >= 0 && v < 256 { o += [0x4B, UInt8(v)] }
        else if v >= 0 && v < 65536 { o += [0x4D, UInt8(v & 0xFF), UInt8(v >> 8)] }
        else if v >= Int(Int32.min) && v <= Int(Int32.max) {
            o.append(0x4A); o += withUnsafeBytes(of: Int32(v).littleEndian, Array.init)
        } else {
            var bytes = withUnsafeBytes(of: Int64(v).littleEndian, Array.init)
            // Trim redundant sign bytes (two's complement, little-endian).
            while bytes.count > 1 {
                let last = bytes[bytes.count - 1], prev = bytes[bytes.count - 2]
                if (last == 0 && prev & 0x80 == 0) || (last == 0xFF && prev & 0x80 != 0) { bytes.removeLast() } else { break }
            }
            o += [0x8A, UInt8(bytes.count)] + bytes
        }
    }
}
