import Foundation

/// Horizontal bars in [0, 1], one per named row (per-class accuracy), with an optional dashed
/// reference (chance).
struct BarChart {
    var title: String
    var names: [String]
    /// nil draws no bar (a class without test samples).
    var values: [Double?]
    var reference: (value: Double, label: String)?
    var width = 720.0

    var svg: String {
        let k = names.count
        let rowH = k > 40 ? 12.0 : 16.0
        let labelWidth = Double(min(28, names.map(\.count).max() ?? 4)) * 6 + 12
        let left = labelWidth, top = 40.0, right = 60.0
        let plotW = width - left - right
        let height = top + Double(k) * rowH + 30
        var canvas = SVGCanvas(width: width, height: height, title: title)
        let size = min(10, rowH - 3)
        for v in stride(from: 0.0, through: 1.0, by: 0.2) {
            let x = left + v * plotW
            canvas.line(x, top - 4, x, top + Double(k) * rowH, stroke: "#e4e4e4")
            canvas.text(x, top - 8, String(format: "%.0f%%", v * 100), size: 9, anchor: "middle")
        }
        for i in 0..<k {
            let y = top + Double(i) * rowH
            canvas.text(left - 6, y + rowH / 2 + size * 0.35, ConfusionHeatMap.shortName(names[i]), size: size, anchor: "end")
            guard i < values.count, let v = values[i], v.isFinite else {
                canvas.text(left + 4, y + rowH / 2 + size * 0.35, "no test samples", size: size, fill: "#888")
                continue
            }
            let w = min(max(v, 0), 1) * plotW
            canvas.rect(left, y + 1.5, w, rowH - 3, fill: Palette.category(0), tooltip: "\(names[i]): \(String(format: "%.1f", v * 100))%")
            canvas.text(left + w + 4, y + rowH / 2 + size * 0.35, String(format: "%.1f%%", v * 100), size: size)
        }
        if let r = reference, r.value.isFinite {
            let x = left + min(max(r.value, 0), 1) * plotW
            canvas.line(x, top, x, top + Double(k) * rowH, stroke: "#d62728", width: 1.2, dash: "6 4")
            canvas.text(x, height - 10, r.label, size: 10, anchor: "middle", fill: "#d62728")
        }
        return canvas.svg
    }
}
