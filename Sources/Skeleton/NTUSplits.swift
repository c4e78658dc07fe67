import Compute
import Foundation

/// The standard NTU RGB+D evaluation protocols; a sample not in the training part is validation.
public enum NTUBenchmark: String, CaseIterable, Sendable {
    /// NTU-60 cross-subject.
    case xsub
    /// NTU-60 cross-view: train on cameras 2 and 3.
    case xview
    /// NTU-120 cross-subject.
    case xsub120
    /// NTU-120 cross-setup: train on even setup ids.
    case xset120

    public static let ntu60TrainingSubjects: Set<Int> = [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38]
    public static let ntu120TrainingSubjects: Set<Int> = ntu60TrainingSubjects.union(
        [45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95,
         97, 98, 100, 103])
    public static let ntu60TrainingCameras: Set<Int> = [2, 3]

    /// Whether `sample` belongs to the training part.
    public func isTraining(_ sample: NTUSampleName) -> Bool {
        switch self {
        case .xsub: return Self.ntu60TrainingSubjects.contains(sample.performer)
        case .xview: return Self.ntu60TrainingCameras.contains(sample.camera)
        case .xsub120: return Self.ntu120TrainingSubjects.contains(sample.performer)
        case .xset120: return sample.setup % 2 == 0
        }
    }

    /// Whether `sample` belongs to the dataset the benchmark is defined on: NTU-60 benchmarks
    /// cover setups 1–17 and actions 1–60 only, so a folder holding the NTU-120 additions too
    /// still yields the NTU-60 parts.
    public func covers(_ sample: NTUSampleName) -> Bool {
        classCount == 60 ? sample.setup <= 17 && sample.action <= 60 : true
    }

    /// Number of action classes the benchmark covers.
    public var classCount: Int { self == .xsub || self == .xview ? 60 : 120 }
}

/// The two parts of a benchmark.
public enum DataPart: String, CaseIterable, Sendable, Codable {
    case train, val
}

/// NTU sample lists: the names with missing skeletons that the reference generator skips.
public enum NTUSampleList {
    /// Reads whitespace-separated sample names (e.g. `samples_with_missing_skeletons.txt`),
    /// stripping any `.skeleton` suffix.
    public static func readNames(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SkeletonFileError(file: path, line: 0, reason: "cannot read sample list: \(InputFile.problem(path) ?? "unreadable")")
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" })
            .map { String($0).replacingOccurrences(of: ".skeleton", with: "") }
    }

    /// Sorted `.skeleton` files of `dir` that belong to `part` of `benchmark` (and to the dataset it
    /// covers), minus `ignored` stems,
    /// in the reference's order (sorted directory listing). Files whose names do not parse are returned
    /// separately so the caller can report them.
    public static func select(directory dir: String, benchmark: NTUBenchmark, part: DataPart,
                              ignored: Set<String>) throws -> (files: [String], unparsable: [String]) {
        let all: [String]
        do { all = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw SkeletonFileError(file: dir, line: 0, reason: "cannot list directory: \(error.localizedDescription)")
        }
        var files: [String] = [], bad: [String] = []
        for f in all.sorted() where f.hasSuffix(".skeleton") {
            guard let n = NTUSampleName(f) else { bad.append(f); continue }
            if ignored.contains(n.stem) || !benchmark.covers(n) { continue }
            if benchmark.isTraining(n) == (part == .train) { files.append(f) }
        }
        return (files, bad)
    }
}
