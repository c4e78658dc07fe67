import Foundation

/// Where a result came from: the engine's version and commit, the command line, the device, the
/// host and when the run started. Recorded in log headers, checkpoint metadata and result files,
/// so any of them explains itself long after the run.
public struct Provenance: Codable, Sendable, Equatable {
    public var version: String
    public var commit: String
    public var commandLine: [String]
    public var device: String
    public var host: String
    /// ISO 8601, UTC.
    public var started: String

    enum CodingKeys: String, CodingKey {
        case version, commit, commandLine = "command_line", device, host, started
    }

    public init(device: String, commandLine: [String] = CommandLine.arguments, started: Date = Date()) {
        version = AimCLRVersion.current
        commit = AimCLRVersion.commit
        self.commandLine = commandLine
        self.device = device
        host = Self.hostName()
        self.started = ISO8601DateFormatter().string(from: started)
    }

    /// The fields as safetensors metadata (string values; the command line as a JSON array).
    public var metadata: [String: String] {
        let command = (try? JSONEncoder().encode(commandLine)).flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
        return ["aimclr_version": version, "aimclr_commit": commit, "command_line": command,
                "device": device, "host": host, "started": started]
    }

    /// This machine's name (gethostname, no DNS lookup), or "unknown".
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }
}
