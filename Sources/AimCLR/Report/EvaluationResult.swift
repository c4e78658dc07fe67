import Foundation
import Skeleton

/// One evaluation shown in a report: a `<protocol>_result.json` with its classification figures,
/// recomputed from the saved logits and labels when the folder has them.
public struct EvaluationResult: Sendable {
    public var summary: EvaluationSummary
    public var source: String
    public var report: ClassificationReport
    /// Where the figures come from: the result JSON or the saved logits.
    public var figuresFrom: String

    public init(summary: EvaluationSummary, source: String) {
        self.summary = summary; self.source = source; report = summary.report; figuresFrom = source
    }

    /// Every `*_result.json` of an evaluation output folder (`aimclr linear`, `finetune`, `knn`, `ensemble`).
    public static func read(directory: String) throws -> [EvaluationResult] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError(file: directory, detail: "no such folder (give the --out folder of aimclr linear, finetune or knn)")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix("_result.json") }.sorted()
        guard !names.isEmpty else {
            throw ReportError(file: directory, detail: "no *_result.json (give the --out folder of aimclr linear, finetune or knn)")
        }
        return try names.map { name in
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            let summary: EvaluationSummary
            do { summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw ReportError(file: path, detail: "not an evaluation result (\(Self.reason(error)))")
            }
            let r = summary.report
            guard r.classes >= 1, r.classes <= 10_000, r.confusion.count == r.classes, r.perClass.count == r.classes,
                  r.confusion.allSatisfy({ $0.count == r.classes && $0.allSatisfy { $0 >= 0 } }) else {
                throw ReportError(file: path, detail: "the confusion matrix or per-class accuracy does not match \(r.classes) classes")
            }
            var result = EvaluationResult(summary: summary, source: path)
            result.recomputeFromLogits(directory: directory)
            return result
        }
    }

    /// Uses `<protocol>_best_logits.npy` with its `_labels.pkl` (the per-sample scores behind the
    /// headline) when both are there and consistent; otherwise the JSON's own figures stay.
    mutating func recomputeFromLogits(directory: String) {
        let stem = (directory.hasSuffix("/") ? directory : directory + "/") + "\(summary.protocolName)_best_logits"
        let labelsPath = stem + "_labels.pkl"
        guard FileManager.default.fileExists(atPath: stem + ".npy"), FileManager.default.fileExists(atPath: labelsPath),
              let scores = try? ScoreFile.read(logitsPath: stem + ".npy", namesPath: labelsPath),
              let labels = try? LabelFile.read(labelsPath).labels, labels.count == scores.names.count,
              labels.allSatisfy({ $0 >= 0 && $0 < scores.classes }) else { return }
        report = ClassificationMetrics.report(scores: scores.logits, classes: scores.classes, labels: labels)
        figuresFrom = stem + ".npy"
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "unexpected value at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted: return "not valid JSON"
        default: return error.localizedDescription
        }
    }
}
