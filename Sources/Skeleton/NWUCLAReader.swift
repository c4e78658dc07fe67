import Compute
import Foundation

/// The fields of an NW-UCLA sample name, `aAA_sSS_eEE_vVV`.
public struct NWUCLASampleName: Equatable, Sendable {
    public var action: Int
    public var subject: Int
    public var repetition: Int
    public var view: Int
    public var stem: String

    public init?(_ stem: String) {
        guard let f = MSRSampleName.fields(stem, ["a", "s", "e", "v"]) else { return nil }
        action = f[0]; subject = f[1]; repetition = f[2]; view = f[3]; self.stem = stem
    }

    /// 0-based label of the action number, nil for a number that is not one of the ten.
    public var label: Int? { NWUCLAReader.actionNumbers.firstIndex(of: action) }
}

/// One NW-UCLA sequence of the JSON release (`all_sqe`):
/// `{"file_name": "aAA_sSS_eEE_vVV", "skeletons": [[[x, y, z] × 20] × T], "label": 1...10}`,
/// Kinect SDK joint order, one body.
public struct NWUCLASequence: Sendable {
    public var name: NWUCLASampleName
    public var recording: KinectV1Recording
    /// 0-based.
    public var label: Int
}

public enum NWUCLAReader {
    /// Action numbers in label order: a01 → label 1 (0-based 0), ..., a12 → 10.
    public static let actionNumbers = [1, 2, 3, 4, 5, 6, 8, 9, 11, 12]
    public static let classNames = ["pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down",
                                    "stand up", "donning", "doffing", "throw", "carry"]

    /// Cross-view split: views 1 and 2 train, view 3 tests.
    public static func part(view: Int) -> DataPart { view == 3 ? .val : .train }

    public static func read(path: String) throws -> NWUCLASequence {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SkeletonFileError(file: path, line: 0, reason: "cannot read file: \(InputFile.problem(path) ?? "unreadable")")
        }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(data, file: path, stem: stem)
    }

    struct File: Decodable {
        var file_name: String?
        var skeletons: [[[Double]]]
        var label: Int?
    }

    /// Parses one sequence; `stem` names it when the file has no `file_name`.
    public static func parse(_ data: Data, file: String, stem: String) throws -> NWUCLASequence {
        func fail(_ reason: String) -> SkeletonFileError { SkeletonFileError(file: file, line: 0, reason: reason) }
        let f: File
        do { f = try JSONDecoder().decode(File.self, from: data) } catch let e as DecodingError {
            throw fail(describe(e))
        } catch {
            throw fail("not valid JSON (\(error.localizedDescription))")
        }
        let nameText = f.file_name ?? stem
        guard let name = NWUCLASampleName(nameText) else { throw fail("name '\(nameText)' does not follow aAA_sSS_eEE_vVV") }
        guard let label = name.label else {
            throw fail("action a\(String(format: "%02d", name.action)) is not one of the ten NW-UCLA actions (a01-a06, a08, a09, a11, a12)")
        }
        if let given = f.label, given != label + 1 {
            throw fail("label \(given) disagrees with action a\(String(format: "%02d", name.action)) (label \(label + 1))")
        }
        guard !f.skeletons.isEmpty else { throw fail("'skeletons' holds no frames") }
        let v = KinectV1Recording.jointCount
        var values: [Float] = []
        values.reserveCapacity(f.skeletons.count * v * 3)
        for (t, frame) in f.skeletons.enumerated() {
            guard frame.count == v else { throw fail("frame \(t + 1) has \(frame.count) joints, expected \(v)") }
            for (j, p) in frame.enumerated() {
                guard p.count == 3 else { throw fail("frame \(t + 1), joint \(j + 1) has \(p.count) numbers, expected x, y, z") }
                let xyz = p.map(Float.init)
                guard xyz.allSatisfy(\.isFinite) else { throw fail("frame \(t + 1), joint \(j + 1): \(p) is outside the float32 range") }
                values += xyz
            }
        }
        return NWUCLASequence(name: name, recording: KinectV1Recording(frameCount: f.skeletons.count, values: values), label: label)
    }

    /// A decoding error as "where: what", e.g. `skeletons[3][0][2]: expected a number, found a string`.
    static func describe(_ e: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
        }
        switch e {
        case let .typeMismatch(type, c):
            let name = "\(type)"
            let wanted = type == Double.self ? "a number" : type == Int.self ? "an integer" : type == String.self ? "a string"
                : name.hasPrefix("Array") ? "a list" : name.hasPrefix("Dictionary") ? "an object" : name
            return "\(path(c.codingPath)): expected \(wanted)"
        case let .valueNotFound(_, c): return "\(path(c.codingPath)): missing value (\(c.debugDescription))"
        case let .keyNotFound(k, c): return "\(path(c.codingPath + [k])): missing key '\(k.stringValue)'"
        case let .dataCorrupted(c):
            let underlying = (c.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            return "not valid JSON" + (c.codingPath.isEmpty ? "" : " at \(path(c.codingPath))") + ": \(underlying ?? c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
