import Foundation

/// Running statistics of an array's elements, streamed in chunks so a memory-mapped
/// multi-gigabyte `.npy` never has to be converted whole.
public struct ArrayStatistics: Sendable, Equatable {
    public var count = 0
    /// Over the finite elements only.
    public var min = Double.infinity, max = -Double.infinity, mean = 0.0
    public var nanCount = 0, infinityCount = 0
    /// Elements exactly zero (padding frames and absent bodies are zero).
    public var zeroCount = 0

    public init(_ array: NpyArray, chunk: Int = 1 << 20) {
        count = array.count
        var sum = 0.0, finite = 0
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(1, chunk))
        defer { buffer.deallocate() }
        var start = 0
        while start < count {
            let n = Swift.min(chunk, count - start)
            array.copyDoubles(from: start, count: n, into: buffer)
            for i in 0..<n {
                let v = buffer[i]
                if v.isNaN { nanCount += 1; continue }
                if v.isInfinite { infinityCount += 1; continue }
                if v == 0 { zeroCount += 1 }
                if v < min { min = v }
                if v > max { max = v }
                sum += v; finite += 1
            }
            start += n
        }
        mean = finite > 0 ? sum / Double(finite) : .nan
        if finite == 0 { min = .nan; max = .nan }
    }
}

/// Why a file could not be summarised.
public struct FileSummaryError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Human-readable summaries of the files the pipeline reads and writes (`aimclr inspect`):
/// `.npy` arrays, `.pkl` label files, `.safetensors` checkpoints and NTU `.skeleton` recordings.
public enum FileSummary {
    /// The summary lines of `path`, chosen by extension, or by magic bytes when the extension is unknown.
    public static func describe(path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileSummaryError(path: path, reason: "no such file")
        }
        guard !isDir.boolValue else { throw FileSummaryError(path: path, reason: "is a directory; name one file") }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "npy": return try npy(path)
        case "pkl", "pickle": return try pickle(path)
        case "safetensors": return try safetensors(path)
        case "skeleton": return try skeleton(path)
        default:
            let head = FileHandle(forReadingAtPath: path).map { h -> [UInt8] in defer { try? h.close() }; return [UInt8]((try? h.read(upToCount: 8)) ?? Data()) } ?? []
            if head.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return try npy(path) }
            if head.first == 0x80 { return try pickle(path) }
            throw FileSummaryError(path: path, reason: "unknown file type (expected .npy, .pkl, .safetensors or .skeleton)")
        }
    }

    static func format(_ v: Double) -> String { v.isNaN ? "nan" : String(format: "%.6g", v) }

    /// Shape, dtype and value statistics; for `(N, 3, T, V, M)` skeleton arrays also how many
    /// samples have a second body and the mean number of non-empty frames.
    public static func npy(_ path: String) throws -> [String] {
        let a = try NpyArray.read(path)
        let st = ArrayStatistics(a)
        var lines = [
            "\(path): .npy array",
            "  shape \(a.shape), dtype \(a.dtype.rawValue) (\(a.dtype)), \(a.count) elements, \(a.count * a.dtype.size) bytes of data",
            "  min \(format(st.min)), max \(format(st.max)), mean \(format(st.mean)), NaN \(st.nanCount), inf \(st.infinityCount), zeros \(st.zeroCount)",
        ]
        if a.shape.count == 5, a.shape[1] == 3, a.shape[0] > 0 {
            let (n, t, v, m) = (a.shape[0], a.shape[2], a.shape[3], a.shape[4])
            var second = 0, frames = 0
            var row = [Float](repeating: 0, count: a.rowCount)
            row.withUnsafeMutableBufferPointer { r in
                let p = r.baseAddress!
                for i in 0..<n {
                    a.copyFloats(from: i * a.rowCount, count: a.rowCount, into: p)
                    var hasSecond = false
                    for f in 0..<t {
                        var any = false
                        for c in 0..<3 { for j in 0..<v { for b in 0..<m where p[((c * t + f) * v + j) * m + b] != 0 {
                            any = true; if b > 0 { hasSecond = true }
                        } } }
                        if any { frames += 1 }
                    }
                    if hasSecond { second += 1 }
                }
            }
            lines.append("  skeleton array (N, C, T, V, M): \(n) samples, \(t) frames, \(v) joints, \(m) body slots; "
                         + "\(second) samples with a second body, \(String(format: "%.1f", Double(frames) / Double(n))) non-empty frames per sample")
        }
        return lines
    }

    /// Label files: sample count, classes and per-class counts, first names. Other pickles: the value, abridged.
    public static func pickle(_ path: String) throws -> [String] {
        do {
            let l = try LabelFile.read(path)
            var perClass: [Int: Int] = [:]
            for v in l.labels { perClass[v, default: 0] += 1 }
            let counts = perClass.values
            var lines = ["\(path): label file (names, labels)", "  \(l.names.count) samples, \(perClass.count) classes"]
            if let lo = perClass.keys.min(), let hi = perClass.keys.max() {
                lines.append("  labels \(lo) to \(hi), samples per class: min \(counts.min()!), max \(counts.max()!)")
            }
            lines.append("  first names: " + l.names.prefix(5).joined(separator: ", "))
            return lines
        } catch let e as PickleError {
            guard case .unexpectedStructure = e else { throw e }
            let text = try Unpickler.load(path: path).description
            return ["\(path): pickle (not a label file)", "  " + (text.count > 400 ? text.prefix(400) + "…" : text)]
        }
    }

    /// Tensor names, dtypes and shapes from the safetensors header, plus the total element count.
    public static func safetensors(_ path: String) throws -> [String] {
        guard let h = FileHandle(forReadingAtPath: path) else { throw FileSummaryError(path: path, reason: "cannot open") }
        defer { try? h.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let prefix = [UInt8]((try h.read(upToCount: 8)) ?? Data())
        guard prefix.count == 8 else { throw FileSummaryError(path: path, reason: "too short for a safetensors header (\(prefix.count) bytes)") }
        let n = prefix.reversed().reduce(0) { $0 << 8 | Int($1) }
        guard n > 0, n <= size - 8 else { throw FileSummaryError(path: path, reason: "header length \(n) does not fit in a \(size)-byte file") }
        let json = (try h.read(upToCount: n)) ?? Data()
        guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw FileSummaryError(path: path, reason: "header is not a JSON object")
        }
        var lines = ["\(path): safetensors, \(header.keys.filter { $0 != "__metadata__" }.count) tensors"]
        var total = 0
        for name in header.keys.sorted() where name != "__metadata__" {
            guard let t = header[name] as? [String: Any], let dtype = t["dtype"] as? String, let shape = t["shape"] as? [Int] else {
                throw FileSummaryError(path: path, reason: "tensor '\(name)' lacks dtype or shape")
            }
            total += shape.reduce(1, *)
            lines.append("  \(name)  \(dtype)  \(shape)")
        }
        lines.append("  \(total) elements in all")
        if let meta = header["__metadata__"] as? [String: String], !meta.isEmpty {
            lines.append("  metadata: " + meta.keys.sorted().map { "\($0)=\(meta[$0]!)" }.joined(separator: ", "))
        }
        return lines
    }

    /// Frames, bodies, label and split fields of an NTU recording.
    public static func skeleton(_ path: String) throws -> [String] {
        let seq = try NTUSkeletonReader.read(path: path)
        var second = 0
        for t in 0..<seq.frameCount where (0..<seq.jointCount).contains(where: { seq.values[seq.index(0, t, $0, 1)] != 0 }) { second += 1 }
        var lines = ["\(path): NTU RGB+D skeleton recording", "  \(seq.frameCount) frames, \(seq.jointCount) joints, second body in \(second) frames"]
        if let n = NTUSampleName(path) {
            lines.append("  setup \(n.setup), camera \(n.camera), performer \(n.performer), replication \(n.replication), action \(n.action) (label \(n.label))")
        }
        return lines
    }
}
