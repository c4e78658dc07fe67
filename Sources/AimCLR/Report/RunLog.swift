import Foundation

/// What a pretraining run's `log.jsonl` holds: a header per start (the first run and every
/// resume) and one record per epoch (iteration records are counted, not kept).
public struct RunLog: Sendable {
    public struct Header: Sendable {
        public var started: String
        public var version: String
        public var command: [String]
        public var device: String
        public var resumedFrom: String?
        /// The configuration, key by key as the run recorded it.
        public var config: [String: JSONValue]
        /// Header fields this reader does not name (provenance other versions record), shown as they are.
        public var other: [String: JSONValue] = [:]
    }

    public struct Epoch: Sendable, Equatable {
        public var epoch: Int
        public var iterations: Int
        public var lr: Double
        public var loss: Double
        /// InfoNCE up to the mining epoch, NNM after it.
        public var contrastive: Double
        public var d3mExtreme: Double
        public var d3mDropped: Double
        public var seconds: Double
        /// Iterations per second over the epoch (0 when no time was recorded).
        public var throughput: Double { seconds > 0 ? Double(iterations) / seconds : 0 }
    }

    public var path: String
    public var headers: [Header]
    /// One per epoch, in epoch order; an epoch trained again after a resume keeps its last record.
    public var epochs: [Epoch]
    public var iterationRecords: Int
    /// Lines skipped as records torn by a kill (each the last line, or followed by a resume's header).
    public var tornLines: [Int]

    /// The configuration of the latest start.
    public var config: [String: JSONValue] { headers.last?.config ?? [:] }
    /// The MoCo queue size K; the contrastive loss of an encoder that tells nothing apart is ln(K + 1).
    public var queueSize: Int? { config["queueSize"]?.int }
    public var miningEpoch: Int? { config["miningEpoch"]?.int }
    public var method: String? { config["method"]?.string }

    /// Reads `<runDirectory>/log.jsonl`.
    public static func read(runDirectory: String) throws -> RunLog {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory, isDirectory: &isDirectory) else {
            throw ReportError(file: runDirectory, detail: "no such folder (give a pretraining work folder)")
        }
        guard isDirectory.boolValue else { throw ReportError(file: runDirectory, detail: "not a folder (give a pretraining work folder)") }
        // Joined as given, so the report shows the paths the user typed.
        let path = (runDirectory.hasSuffix("/") ? runDirectory : runDirectory + "/") + "log.jsonl"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ReportError(file: path, detail: "missing: \(runDirectory) is not a pretraining work folder")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ReportError(file: path, detail: "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws -> RunLog {
        let decoder = JSONDecoder()
        var records: [(line: Int, record: [String: JSONValue]?)] = []
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            records.append((lineNumber, try? decoder.decode([String: JSONValue].self, from: Data(line))))
        }
        var log = RunLog(path: path, headers: [], epochs: [], iterationRecords: 0, tornLines: [])
        var byEpoch: [Int: Epoch] = [:]
        for (k, entry) in records.enumerated() {
            guard let record = entry.record else {
                // A kill mid-write leaves a torn line, after which the log either ends or a resume starts.
                let next = k + 1 < records.count ? records[k + 1].record : nil
                if k + 1 == records.count || next?["type"]?.string == "header" { log.tornLines.append(entry.line); continue }
                throw ReportError(file: path, line: entry.line, detail: "not a JSON object")
            }
            func field(_ key: String) throws -> Double {
                guard let v = record[key]?.double else {
                    throw ReportError(file: path, line: entry.line, detail: "\(record["type"]?.text ?? "record") without a numeric '\(key)'")
                }
                return v
            }
            func count(_ key: String) throws -> Int {
                guard let v = record[key]?.int, v >= 0 else {
                    throw ReportError(file: path, line: entry.line, detail: "\(record["type"]?.text ?? "record") without a count '\(key)'")
                }
                return v
            }
            switch record["type"]?.string {
            case "header":
                var config: [String: JSONValue] = [:]
                if case .object(let o)? = record["config"] { config = o }
                let command: [String] = {
                    if case .array(let a)? = record["command"] { return a.map { $0.string ?? $0.text } }
                    return []
                }()
                let named: Set = ["type", "started", "version", "command", "device", "resumedFrom", "config"]
                log.headers.append(Header(started: record["started"]?.string ?? "?", version: record["version"]?.string ?? "?",
                                          command: command, device: record["device"]?.string ?? "?",
                                          resumedFrom: record["resumedFrom"]?.string, config: config,
                                          other: record.filter { !named.contains($0.key) }))
            case "epoch":
                let e = Epoch(epoch: try count("epoch"), iterations: try count("iterations"), lr: try field("lr"),
                              loss: try field("loss"), contrastive: try field("contrastive"),
                              d3mExtreme: try field("d3mExtreme"), d3mDropped: try field("d3mDropped"),
                              seconds: try field("seconds"))
                byEpoch[e.epoch] = e
            case "iteration":
                log.iterationRecords += 1
            default:
                break  // Record types this version does not draw.
            }
        }
        guard !log.headers.isEmpty else { throw ReportError(file: path, detail: "no header record (not a pretraining log)") }
        log.epochs = byEpoch.keys.sorted().map { byEpoch[$0]! }
        return log
    }
}
