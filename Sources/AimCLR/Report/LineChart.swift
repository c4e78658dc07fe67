import Foundation

/// A line chart with axes, ticks, grid, a legend and optional dashed horizontal reference lines.
struct LineChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var color: String
        var dashed = false
    }

    struct Reference {
        var value: Double
        var label: String
        var color = "#555"
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var references: [Reference] = []
    var width = 720.0
    var height = 320.0
    /// Start the y axis at 0 when all values are positive (rates, accuracies).
    var includeZero = false
    /// Ticks only at whole numbers on x (epochs).
    var integerX = false

    var svg: String {
        var canvas = SVGCanvas(width: width, height: height, title: title)
        let drawn = series.map { s in Series(name: s.name, points: s.points.filter { $0.x.isFinite && $0.y.isFinite }, color: s.color, dashed: s.dashed) }
            .filter { !$0.points.isEmpty }
        let left = 64.0, right = 180.0, top = 34.0, bottom = 46.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = drawn.flatMap { $0.points.map(\.x) }
        var ys = drawn.flatMap { $0.points.map(\.y) } + references.map(\.value).filter(\.isFinite)
        if includeZero { ys.append(0) }
        let xAxis = AxisTicks(minimum: xs.min() ?? 0, maximum: xs.max() ?? 1, target: 8, minimumStep: integerX ? 1 : 0)
        let yAxis = AxisTicks(minimum: ys.min() ?? 0, maximum: ys.max() ?? 1, target: 5)
        func px(_ x: Double) -> Double { left + (x - xAxis.lower) / (xAxis.upper - xAxis.lower) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - yAxis.lower) / (yAxis.upper - yAxis.lower) * plotH }

        for v in yAxis.values {
            canvas.line(left, py(v), left + plotW, py(v), stroke: "#e4e4e4")
            canvas.text(left - 6, py(v) + 4, yAxis.label(v), size: 10, anchor: "end")
        }
        for v in xAxis.values {
            canvas.line(px(v), top + plotH, px(v), top + plotH + 4, stroke: "#444")
            canvas.text(px(v), top + plotH + 16, xAxis.label(v), size: 10, anchor: "middle")
        }
        canvas.line(left, top, left, top + plotH, stroke: "#444")
        canvas.line(left, top + plotH, left + plotW, top + plotH, stroke: "#444")
        canvas.text(left + plotW / 2, height - 8, xLabel, size: 11, anchor: "middle")
        canvas.text(16, top + plotH / 2, yLabel, size: 11, anchor: "middle", rotate: -90)

        var legendY = top + 8
        for r in references where r.value.isFinite {
            canvas.line(left, py(r.value), left + plotW, py(r.value), stroke: r.color, width: 1.2, dash: "6 4")
            canvas.line(left + plotW + 12, legendY, left + plotW + 36, legendY, stroke: r.color, width: 1.2, dash: "6 4")
            canvas.text(left + plotW + 40, legendY + 4, r.label, size: 10)
            legendY += 16
        }
        for s in drawn {
            let points = s.points.map { (px($0.x), py($0.y)) }
            if points.count == 1 {
                canvas.circle(points[0].0, points[0].1, r: 3, fill: s.color)
            } else {
                canvas.polyline(points, stroke: s.color, dash: s.dashed ? "3 3" : nil)
            }
            if points.count <= 40 { for p in points { canvas.circle(p.0, p.1, r: 2, fill: s.color) } }
            canvas.line(left + plotW + 12, legendY, left + plotW + 36, legendY, stroke: s.color, width: 2.5, dash: s.dashed ? "3 3" : nil)
            canvas.text(left + plotW + 40, legendY + 4, s.name, size: 10)
            legendY += 16
        }
        if drawn.isEmpty { canvas.text(left + plotW / 2, top + plotH / 2, "no data", size: 12, anchor: "middle", fill: "#888") }
        return canvas.svg
    }
}
