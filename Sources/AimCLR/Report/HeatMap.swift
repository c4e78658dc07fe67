import Foundation

/// A confusion matrix as a heat map: rows true classes, columns predicted, each cell shaded by
/// its share of the row (so rare classes read as well as common ones), counts written in the
/// cells while they fit, exact figures in each cell's tooltip.
struct ConfusionHeatMap {
    var title: String
    var classNames: [String]
    /// counts[true][predicted]; square, classNames.count on a side.
    var counts: [[Int]]

    static func shortName(_ s: String, limit: Int = 28) -> String {
        s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
    }

    var svg: String {
        let k = counts.count
        let names = (0..<k).map { Self.shortName($0 < classNames.count ? classNames[$0] : "class \($0)") }
        let labelWidth = Double(min(28, names.map(\.count).max() ?? 4)) * 6 + 16
        let cell = max(6, min(30, 600 / Double(max(k, 1))))
        let labelSize = min(11, max(6, cell * 0.75))
        let left = labelWidth + 24, top = 40.0
        let side = cell * Double(k)
        let width = left + side + 90, height = top + side + labelWidth + 30
        var canvas = SVGCanvas(width: width, height: height, title: title)
        let showCounts = k <= 20
        for t in 0..<k {
            let row = counts[t]
            let total = row.reduce(0, +)
            canvas.text(left - 4, top + (Double(t) + 0.5) * cell + labelSize * 0.35, names[t], size: labelSize, anchor: "end")
            for p in 0..<min(k, row.count) {
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                let share = total > 0 ? Double(row[p]) / Double(total) : 0
                if row[p] == 0 {
                    canvas.rect(x, y, cell, cell, fill: "#fafafa")
                    continue
                }
                canvas.rect(x, y, cell, cell, fill: Palette.sequential(share),
                            tooltip: "true \(names[t]) → predicted \(names[p]): \(row[p]) of \(total) (\(String(format: "%.1f", share * 100))%)")
                if showCounts {
                    canvas.text(x + cell / 2, y + cell / 2 + 3.5, String(row[p]), size: min(10, cell * 0.4), anchor: "middle",
                                fill: share > 0.5 ? "#fff" : "#222")
                }
            }
        }
        for p in 0..<k {
            let x = left + (Double(p) + 0.5) * cell + labelSize * 0.35, y = top + side + 6
            canvas.text(x, y, names[p], size: labelSize, anchor: "end", rotate: -90)
        }
        canvas.line(left, top, left, top + side, stroke: "#888")
        canvas.line(left, top + side, left + side, top + side, stroke: "#888")
        canvas.text(left + side / 2, height - 6, "predicted class", size: 11, anchor: "middle")
        canvas.text(12, top + side / 2, "true class", size: 11, anchor: "middle", rotate: -90)
        // Colour key: share of the true class's samples.
        let keyX = left + side + 24, keyH = min(side, 200.0)
        for i in 0..<20 {
            let t = 1 - Double(i) / 19
            canvas.rect(keyX, top + Double(i) * keyH / 20, 14, keyH / 20 + 0.5, fill: Palette.sequential(t))
        }
        canvas.text(keyX + 18, top + 8, "100%", size: 9)
        canvas.text(keyX + 18, top + keyH, "0%", size: 9)
        canvas.text(keyX, top + keyH + 14, "of row", size: 9)
        return canvas.svg
    }
}
