import XCTest
import Compute
import CPUBackend

/// Deterministic test inputs (SplitMix64), so a failure reproduces exactly.
struct RefRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double = -1, _ hi: Double = 1) -> Double {
        lo + (hi - lo) * Double(next() >> 11) / Double(1 << 53)
    }

    /// `count` uniform values, already rounded to Float so the reference and the device see
    /// the same inputs.
    mutating func values(_ count: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
        (0 ..< count).map { _ in Double(Float(uniform(lo, hi))) }
    }

    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

extension Array where Element == Double {
    var floats: [Float] { map { Float($0) } }
}

extension Array where Element == Float {
    var doubles: [Double] { map { Double($0) } }
}

/// Asserts |actual − expected| ≤ abs + rel·|expected| elementwise and reports the worst element.
func assertClose(_ actual: [Float], _ expected: [Double], abs: Double, rel: Double, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): sizes differ", file: file, line: line)
    var worst = -1
    var worstExcess = 0.0
    for i in 0 ..< min(actual.count, expected.count) {
        let err = Swift.abs(Double(actual[i]) - expected[i])
        let allowed = abs + rel * Swift.abs(expected[i])
        if !(err <= allowed) {
            let excess = err.isNaN ? .infinity : err - allowed
            if worst < 0 || excess > worstExcess { worst = i; worstExcess = excess }
        }
    }
    if worst >= 0 {
        XCTFail("\(what): element \(worst) is \(actual[worst]), expected \(expected[worst]) (abs \(abs), rel \(rel))",
                file: file, line: line)
    }
}

/// Central differences of a scalar Double function at the chosen coordinates.
func numericalGradient(at x: [Double], indices: [Int], step h: Double = 1e-4,
                       _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    return indices.map { i in
        let keep = x[i]
        x[i] = keep + h
        let up = f(x)
        x[i] = keep - h
        let down = f(x)
        x[i] = keep
        return (up - down) / (2 * h)
    }
}

/// A few coordinates spread over 0 ..< count (always including the first and the last).
func sampleIndices(_ count: Int, _ n: Int, rng: inout RefRandom) -> [Int] {
    if count <= n { return Array(0 ..< count) }
    var picks = Set<Int>([0, count - 1])
    while picks.count < n { picks.insert(rng.int(count)) }
    return picks.sorted()
}

/// Σ r_i·y_i: turns a tensor-valued op into the scalar whose gradient wrt y is r.
func dotLoss(_ y: [Double], _ r: [Double]) -> Double {
    var s = 0.0
    for i in 0 ..< y.count { s += y[i] * r[i] }
    return s
}

extension Device {
    /// A device tensor holding Double test values rounded to Float.
    func tensor(_ values: [Double], _ shape: [Int]) throws -> Tensor {
        try tensor(values.floats, shape: shape)
    }

    /// Overwrites a tensor with Double test values rounded to Float.
    func write(_ values: [Double], to t: Tensor) {
        values.floats.withUnsafeBufferPointer { upload($0, to: t) }
    }
}
