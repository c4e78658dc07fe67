import Foundation

/// "Nice" axis ranges and ticks: steps of 1, 2 or 5 × 10ⁿ covering the data.
struct AxisTicks {
    let lower: Double
    let upper: Double
    let values: [Double]
    let step: Double

    /// About `target` ticks over [minimum, maximum], at least `minimumStep` apart; a degenerate range
    /// is widened around its value.
    init(minimum: Double, maximum: Double, target: Int = 5, minimumStep: Double = 0) {
        var lo = minimum.isFinite ? minimum : 0, hi = maximum.isFinite ? maximum : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo < 1e-12 * max(1, abs(hi)) {
            let pad = abs(hi) > 0 ? abs(hi) * 0.1 : 1
            lo -= pad; hi += pad
        }
        let raw = (hi - lo) / Double(max(target, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let fraction = raw / magnitude
        let step = max((fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude, minimumStep)
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        var values: [Double] = []
        var v = first
        while v <= last + step * 1e-9 && values.count < 50 { values.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        self.lower = first; self.upper = last; self.values = values; self.step = step
    }

    /// A tick label with no more decimals than the step needs.
    func label(_ v: Double) -> String {
        if abs(v) >= 1e5 || (abs(v) < 1e-3 && v != 0) { return String(format: "%.0e", v) }
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        return String(format: "%.\(decimals)f", v)
    }
}
