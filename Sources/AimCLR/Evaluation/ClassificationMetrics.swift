import Foundation

/// Accuracy figures of one evaluation of class scores (logits or votes) against labels.
public struct ClassificationReport: Codable, Sendable, Equatable {
    public var samples: Int
    public var classes: Int
    /// Fractions in [0, 1].
    public var top1: Double
    public var top5: Double
    /// Accuracy of each class (nil for a class with no test sample).
    public var perClass: [Double?]
    /// confusion[true][predicted] counts.
    public var confusion: [[Int]]
}

/// Top-k accuracy, per-class accuracy and the confusion matrix, as the reference `show_topk` counts.
public enum ClassificationMetrics {
    /// Whether `label` is among the k best scores of `row`: fewer than k classes score strictly
    /// higher (ties are resolved in the label's favour).
    @inline(__always)
    static func inTopK(_ row: UnsafeBufferPointer<Float>, label: Int, k: Int) -> Bool {
        let s = row[label]
        var higher = 0
        for j in 0..<row.count where row[j] > s {
            higher += 1
            if higher >= k { return false }
        }
        return true
    }

    /// Fraction of rows of `scores` (N, classes) whose label is within the top k.
    public static func topK(scores: [Float], classes: Int, labels: [Int], k: Int) -> Double {
        precondition(scores.count == labels.count * classes, "scores \(scores.count) vs \(labels.count) x \(classes)")
        guard !labels.isEmpty else { return 0 }
        var hits = 0
        scores.withUnsafeBufferPointer { s in
            for (i, l) in labels.enumerated() {
                let row = UnsafeBufferPointer(rebasing: s[(i * classes)..<((i + 1) * classes)])
                if inTopK(row, label: l, k: k) { hits += 1 }
            }
        }
        return Double(hits) / Double(labels.count)
    }

    /// The arg-max of each row (the first on ties, as NumPy's argmax).
    public static func predictions(scores: [Float], classes: Int) -> [Int] {
        let n = scores.count / classes
        var out = [Int](repeating: 0, count: n)
        scores.withUnsafeBufferPointer { s in
            for i in 0..<n {
                var best = 0
                var value = s[i * classes]
                for j in 1..<classes where s[i * classes + j] > value { value = s[i * classes + j]; best = j }
                out[i] = best
            }
        }
        return out
    }

    /// All figures at once.
    public static func report(scores: [Float], classes: Int, labels: [Int]) -> ClassificationReport {
        let predicted = predictions(scores: scores, classes: classes)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (l, p) in zip(labels, predicted) where l >= 0 && l < classes { confusion[l][p] += 1 }
        let perClass: [Double?] = confusion.enumerated().map { c, row in
            let total = row.reduce(0, +)
            return total == 0 ? nil : Double(row[c]) / Double(total)
        }
        return ClassificationReport(samples: labels.count, classes: classes,
                                    top1: topK(scores: scores, classes: classes, labels: labels, k: 1),
                                    top5: topK(scores: scores, classes: classes, labels: labels, k: min(5, classes)),
                                    perClass: perClass, confusion: confusion)
    }

    /// A compact text rendering: per-class accuracy in rows of ten, and the confusion matrix
    /// when it is small enough to read (otherwise its most frequent off-diagonal cells).
    public static func compactText(_ r: ClassificationReport, maxMatrix: Int = 12) -> String {
        var lines: [String] = []
        let pcs = r.perClass.enumerated().map { c, a in a.map { String(format: "%d:%.0f%%", c, $0 * 100) } ?? "\(c):-" }
        lines.append("per-class accuracy:")
        stride(from: 0, to: pcs.count, by: 10).forEach { lines.append("  " + pcs[$0..<min($0 + 10, pcs.count)].joined(separator: " ")) }
        if r.classes <= maxMatrix {
            lines.append("confusion (rows true, columns predicted):")
            for row in r.confusion { lines.append("  " + row.map { String(format: "%4d", $0) }.joined()) }
        } else {
            var cells: [(Int, Int, Int)] = []
            for (t, row) in r.confusion.enumerated() { for (p, n) in row.enumerated() where p != t && n > 0 { cells.append((n, t, p)) } }
            cells.sort { $0.0 > $1.0 }
            lines.append("most frequent confusions (true -> predicted: count): "
                         + cells.prefix(8).map { "\($0.1)->\($0.2): \($0.0)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
