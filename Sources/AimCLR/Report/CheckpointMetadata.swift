import Foundation

/// The newest pretraining checkpoint of a run folder, described from its safetensors header
/// alone (the tensors are not read).
public struct CheckpointMetadata: Sendable {
    public var path: String
    public var bytes: Int
    public var modified: Date?
    /// The header's `__metadata__` (format, epoch, iteration, config, checksum).
    public var metadata: [String: String]
    /// Every complete checkpoint in the folder, newest first.
    public var allCheckpoints: [String]

    /// nil when the folder holds no checkpoint.
    public static func newest(in runDirectory: String) throws -> CheckpointMetadata? {
        let all = CheckpointFiles.candidates(in: URL(fileURLWithPath: runDirectory))
        guard let newest = all.first else { return nil }
        let path = (runDirectory.hasSuffix("/") ? runDirectory : runDirectory + "/") + newest.url.lastPathComponent
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return CheckpointMetadata(path: path, bytes: (attributes?[.size] as? NSNumber)?.intValue ?? 0,
                                  modified: attributes?[.modificationDate] as? Date, metadata: try readMetadata(path),
                                  allCheckpoints: all.map(\.url.lastPathComponent))
    }

    /// The string map under `__metadata__` in a safetensors header (8-byte little-endian length, JSON).
    static func readMetadata(_ path: String) throws -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ReportError(file: path, detail: "cannot open the checkpoint") }
        defer { try? handle.close() }
        let prefix = (try? handle.read(upToCount: 8)) ?? nil
        guard let prefix, prefix.count == 8 else { throw ReportError(file: path, detail: "shorter than a safetensors header") }
        let length = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= 100_000_000 else { throw ReportError(file: path, detail: "safetensors header length \(length) is implausible") }
        guard let header = (try? handle.read(upToCount: Int(length))) ?? nil, header.count == Int(length),
              let object = try? JSONDecoder().decode([String: JSONValue].self, from: header) else {
            throw ReportError(file: path, detail: "the safetensors header is not a JSON object")
        }
        guard case .object(let map)? = object["__metadata__"] else { return [:] }
        return map.compactMapValues(\.string)
    }
}
