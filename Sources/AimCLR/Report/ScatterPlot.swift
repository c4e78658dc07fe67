import Foundation

/// Planar points coloured by class, on equal axes, with a class legend.
struct ScatterPlot {
    var title: String
    /// (count, 2) row-major.
    var coordinates: [Double]
    var labels: [Int]
    var classNames: [String]
    var plotSize = 560.0

    var svg: String {
        let n = labels.count
        let present = Array(Set(labels)).sorted()
        let columns = present.count > 30 ? 2 : 1
        let legendRows = (present.count + columns - 1) / columns
        let legendWidth = Double(columns) * 190
        let top = 34.0, margin = 12.0
        let height = max(top + plotSize + margin, top + Double(legendRows) * 14 + 20)
        var canvas = SVGCanvas(width: margin + plotSize + 20 + legendWidth, height: height, title: title)
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for i in 0..<min(n, coordinates.count / 2) {
            minX = min(minX, coordinates[2 * i]); maxX = max(maxX, coordinates[2 * i])
            minY = min(minY, coordinates[2 * i + 1]); maxY = max(maxY, coordinates[2 * i + 1])
        }
        let span = max(maxX - minX, maxY - minY, 1e-9) * 1.06
        let cx = (minX + maxX) / 2, cy = (minY + maxY) / 2
        canvas.rect(margin, top, plotSize, plotSize, fill: "#fff", stroke: "#ccc")
        let radius = n > 3000 ? 1.4 : n > 800 ? 2 : 3
        for i in 0..<min(n, coordinates.count / 2) {
            let x = margin + plotSize / 2 + (coordinates[2 * i] - cx) / span * plotSize
            let y = top + plotSize / 2 - (coordinates[2 * i + 1] - cy) / span * plotSize
            canvas.circle(x, y, r: radius, fill: Palette.category(labels[i]), opacity: 0.8)
        }
        for (row, c) in present.enumerated() {
            let x = margin + plotSize + 20 + Double(row / legendRows) * 190, y = top + 8 + Double(row % legendRows) * 14
            canvas.circle(x + 5, y - 3.5, r: 4, fill: Palette.category(c))
            canvas.text(x + 14, y, ConfusionHeatMap.shortName(c >= 0 && c < classNames.count ? classNames[c] : "class \(c)"), size: 10)
        }
        return canvas.svg
    }
}
