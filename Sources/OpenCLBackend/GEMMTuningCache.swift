import COpenCL
import Compute
import Foundation

/// Tuned CLBlast parameters per (device name, driver version, CLBlast version, shape class), as
/// `aimclr tune` writes them and `OpenCLDevice` applies them when it opens.
///
/// A shape class is the CLBlast kernel that runs the shapes: "indirect" (Xgemm, the tiled
/// kernel of the large GEMMs) or "direct" (XgemmDirect, small ones). CLBlast keeps one parameter
/// set per kernel and device, so a class is tuned on the sum of its shapes' times.
public struct GEMMTuningCache: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var device: String
        public var driver: String
        public var clblast: String
        /// "indirect" or "direct".
        public var shapeClass: String
        /// The CLBlast kernel the parameters belong to.
        public var kernel: String
        /// The winning parameters; empty when CLBlast's own choice was fastest (nothing to apply).
        public var parameters: [String: Int]
        /// Summed seconds over the class's shapes: CLBlast's choice and the winner.
        public var defaultSeconds: Double
        public var tunedSeconds: Double
        /// Largest |C - C_default| / max|C_default| over the shapes (the parity check).
        public var maxRelativeDifference: Double
        public var batch: Int
        public var shapes: [String]
        public var candidates: Int
        public var date: String

        public var key: String { [device, driver, clblast, shapeClass].joined(separator: "|") }
    }

    public var version = 1
    public var entries: [Entry] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    public static let clblastVersion = "\(CLBLAST_VERSION_MAJOR).\(CLBLAST_VERSION_MINOR).\(CLBLAST_VERSION_PATCH)"

    /// The kernel a shape class is tuned through.
    public static func kernel(of shapeClass: String) -> String? {
        switch shapeClass {
        case "indirect": return "Xgemm"
        case "direct": return "XgemmDirect"
        default: return nil
        }
    }

    /// The entries that apply to this device, driver and CLBlast build.
    public func entries(for info: OpenCLDeviceInfo) -> [Entry] {
        entries.filter { $0.device == info.name && $0.driver == info.driverVersion && $0.clblast == Self.clblastVersion }
    }

    /// Adds or replaces the entry with the same key.
    public mutating func store(_ entry: Entry) {
        entries.removeAll { $0.key == entry.key }
        entries.append(entry)
    }

    // MARK: Location and files

    /// `AIMCLR_TUNING_CACHE` (a path; "none" turns caching off), else
    /// `$XDG_CACHE_HOME/aimclr/clblast-tuning.json`, else `~/.cache/aimclr/clblast-tuning.json`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let p = environment["AIMCLR_TUNING_CACHE"], !p.isEmpty {
            return p.lowercased() == "none" ? nil : p
        }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/aimclr/clblast-tuning.json" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.cache/aimclr/clblast-tuning.json"
    }

    /// The cache at `path`; nil when no file is there. A file that is not a cache throws an
    /// error naming it: a silently ignored cache would leave a run untuned with no sign why.
    public static func load(path: String) throws -> GEMMTuningCache? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DeviceError.unavailable("tuning cache \(path) cannot be read: \(error.localizedDescription)")
        }
        let cache: GEMMTuningCache
        do { cache = try JSONDecoder().decode(GEMMTuningCache.self, from: data) } catch {
            throw DeviceError.unavailable("tuning cache \(path) is not a valid cache (\(Self.reason(error))); "
                                          + "delete it or run `aimclr tune` again (AIMCLR_TUNING_CACHE=none skips it)")
        }
        guard cache.version == 1 else {
            throw DeviceError.unavailable("tuning cache \(path) has version \(cache.version); this build reads version 1")
        }
        for e in cache.entries where kernel(of: e.shapeClass) != e.kernel {
            throw DeviceError.unavailable("tuning cache \(path): entry for \(e.device) names shape class '\(e.shapeClass)' "
                                          + "with kernel '\(e.kernel)' (expected indirect/Xgemm or direct/XgemmDirect)")
        }
        return cache
    }

    /// Writes through a temporary file in the same folder and a rename, so a reader never sees
    /// half a cache.
    public func save(path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
            try encoder.encode(self).write(to: temp)
            if rename(temp.path, url.path) != 0 {
                let code = errno
                try? FileManager.default.removeItem(at: temp)
                throw DeviceError.unavailable(String(cString: strerror(code)))
            }
        } catch {
            throw DeviceError.unavailable("cannot write tuning cache \(path): \(error is DeviceError ? "\(error)" : systemErrorText(error))")
        }
    }

    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let k, _): return "missing field '\(k.stringValue)'"
        case DecodingError.typeMismatch(_, let c): return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        case DecodingError.valueNotFound(_, let c): return "missing value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}
