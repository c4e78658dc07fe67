import Foundation
import Skeleton

/// Saved class scores of one evaluation: an (N, classes) float32 `.npy` of raw logits and the
/// names of its N samples, in the same order (the reference's `test_result.pkl` as two files).
///
/// Names live beside the logits as `<stem>_names.json` (a JSON list of strings); a labels-style
/// pickle `(names, labels)` (`<stem>_labels.pkl`) is written too and accepted as a names file.
public struct ScoreFile: Sendable {
    public var logits: [Float]
    public var classes: Int
    public var names: [String]
    public var source: String

    public init(logits: [Float], classes: Int, names: [String], source: String) throws {
        guard classes > 0, logits.count == names.count * classes else {
            throw EvaluationError.shape(what: source, detail: "\(logits.count) scores for \(names.count) samples x \(classes) classes")
        }
        self.logits = logits; self.classes = classes; self.names = names; self.source = source
    }

    /// `<stem>_names.json` for `<stem>.npy`.
    public static func defaultNamesPath(forLogits path: String) -> String {
        (path.hasSuffix(".npy") ? String(path.dropLast(4)) : path) + "_names.json"
    }

    /// `<stem>_labels.pkl` for `<stem>.npy`.
    public static func labelsPath(forLogits path: String) -> String {
        (path.hasSuffix(".npy") ? String(path.dropLast(4)) : path) + "_labels.pkl"
    }

    /// Reads sample names from a JSON list or a labels pickle.
    public static func readNames(_ path: String) throws -> [String] {
        if path.hasSuffix(".pkl") { return try LabelFile.read(path).names }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EvaluationError.checkpoint(file: path, detail: "cannot read the sample names: \(error.localizedDescription)")
        }
        guard let names = try? JSONDecoder().decode([String].self, from: data) else {
            throw EvaluationError.checkpoint(file: path, detail: "not a JSON list of sample names")
        }
        return names
    }

    /// Reads `logitsPath` and its names (`namesPath`, else the default beside it).
    public static func read(logitsPath: String, namesPath: String? = nil) throws -> ScoreFile {
        let array = try NpyArray.read(logitsPath)
        guard array.shape.count == 2 else {
            throw EvaluationError.shape(what: logitsPath, detail: "expected an (N, classes) array, got \(array.shape)")
        }
        let names = try readNames(namesPath ?? defaultNamesPath(forLogits: logitsPath))
        guard names.count == array.shape[0] else {
            throw EvaluationError.shape(what: logitsPath, detail: "\(array.shape[0]) rows but \(names.count) sample names")
        }
        return try ScoreFile(logits: array.floats(), classes: array.shape[1], names: names, source: logitsPath)
    }

    /// Writes `<stem>.npy`, `<stem>_names.json` and `<stem>_labels.pkl` (with `labels`).
    public func write(logitsPath: String, labels: [Int]) throws {
        try NpyArray(shape: [names.count, classes], floats: logits).write(to: logitsPath)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        try encoder.encode(names).write(to: URL(fileURLWithPath: Self.defaultNamesPath(forLogits: logitsPath)), options: .atomic)
        try LabelFile(names: names, labels: labels).write(to: Self.labelsPath(forLogits: logitsPath))
    }

    /// Throws, naming the first position where `names` differs from `expected`.
    public static func checkAligned(_ names: [String], source: String, expected: [String], expectedSource: String) throws {
        for i in 0..<min(names.count, expected.count) where names[i] != expected[i] {
            throw EvaluationError.sampleMismatch(source: "\(source) vs \(expectedSource)", index: i, found: names[i], expected: expected[i])
        }
        guard names.count == expected.count else {
            throw EvaluationError.shape(what: "\(source) vs \(expectedSource)",
                                        detail: "\(names.count) samples vs \(expected.count) (the sample lists do not line up)")
        }
    }
}

/// The three-stream ensemble (spec §5.3): a weighted sum of raw logits, no softmax, aligned by
/// sample order; the reference weights are 0.6 joint, 0.6 bone, 0.4 motion.
public enum Ensemble {
    /// Σ_i w_i · logits_i, after checking every file lists the same samples as the first (and
    /// as `labels` when given).
    public static func combine(_ files: [ScoreFile], weights: [Float], labels: LabelFile? = nil,
                               labelsSource: String = "labels") throws -> [Float] {
        guard !files.isEmpty else { throw EvaluationError.invalidSetting(name: "ensemble", detail: "no logits files") }
        guard weights.count == files.count else {
            throw EvaluationError.invalidSetting(name: "ensemble", detail: "\(files.count) logits files but \(weights.count) weights")
        }
        let reference = files[0]
        if let labels {
            try ScoreFile.checkAligned(reference.names, source: reference.source, expected: labels.names, expectedSource: labelsSource)
        }
        var sum = [Float](repeating: 0, count: reference.logits.count)
        for (f, w) in zip(files, weights) {
            try ScoreFile.checkAligned(f.names, source: f.source, expected: reference.names, expectedSource: reference.source)
            guard f.classes == reference.classes else {
                throw EvaluationError.shape(what: f.source, detail: "\(f.classes) classes vs \(reference.classes) in \(reference.source)")
            }
            sum.withUnsafeMutableBufferPointer { s in
                f.logits.withUnsafeBufferPointer { x in for i in 0..<s.count { s[i] += w * x[i] } }
            }
        }
        return sum
    }
}
