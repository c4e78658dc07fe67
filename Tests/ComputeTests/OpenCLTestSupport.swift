import Compute
import Foundation
import OpenCLBackend
import XCTest

/// The OpenCL device shared by every OpenCL test: kernel compilation on pocl is slow, so it is
/// opened once per test run. `AIMCLR_TEST_OPENCL` picks the device index (default 0).
/// Without any OpenCL device the tests skip, except under `CI=true`, where they fail.
enum OpenCLTestDevice {
    struct Missing: Error, CustomStringConvertible { let description: String }

    nonisolated(unsafe) private static var cached: Result<OpenCLDevice, Error>?

    static func get() throws -> OpenCLDevice {
        if cached == nil {
            let env = ProcessInfo.processInfo.environment
            let index = Int(env["AIMCLR_TEST_OPENCL"] ?? "0") ?? 0
            let found = OpenCLRuntime.devices()
            if found.isEmpty {
                cached = .failure(Missing(description: "no OpenCL platform/device found (install an ICD such as pocl)"))
            } else if !found.indices.contains(index) {
                cached = .failure(Missing(description: "AIMCLR_TEST_OPENCL=\(index) but only \(found.count) OpenCL device(s)"))
            } else {
                cached = Result { try OpenCLDevice(index: index) }
            }
        }
        switch cached! {
        case .success(let d): return d
        case .failure(let e as Missing):
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                throw Missing(description: "CI=true requires an OpenCL device: \(e.description)")
            }
            throw XCTSkip("OpenCL tests skipped: \(e.description)")
        case .failure(let e): throw e
        }
    }
}

/// Deterministic test data (a 64-bit LCG; independent of the Philox under test).
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24)
    }
    /// Uniform in [lo, hi).
    mutating func values(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<n).map { _ in lo + (hi - lo) * next() }
    }
}

/// Asserts |got − want| <= abs + rel·|want| elementwise (NaN only where want is NaN) and names
/// the worst element.
func expectClose(_ got: [Float], _ want: [Float], abs: Float, rel: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "\(what): count", file: file, line: line)
    var worst = -1
    var worstExcess: Float = 0
    for i in 0..<min(got.count, want.count) {
        if got[i].isNaN && want[i].isNaN { continue }  // NaN where the reference has NaN
        let excess = Swift.abs(got[i] - want[i]) - (abs + rel * Swift.abs(want[i]))
        if !(excess <= 0) && (worst < 0 || excess > worstExcess || excess.isNaN) { worst = i; worstExcess = excess }
    }
    if worst >= 0 {
        XCTFail("\(what): element \(worst) is \(got[worst]), expected \(want[worst]) (abs \(abs), rel \(rel))",
                file: file, line: line)
    }
}

func expectClose(_ got: Double, _ want: Double, rel: Double, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssert(Swift.abs(got - want) <= rel * max(Swift.abs(want), 1e-30), "\(what): \(got) vs \(want)",
              file: file, line: line)
}

/// Σ a_i·b_i in double (for adjoint identities ⟨dy, F x⟩ = ⟨Fᵀdy, x⟩).
func dot(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

/// Σ |a_i·b_i|: the scale against which an adjoint identity is checked.
func absDot(_ a: [Float], _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += Swift.abs(Double(a[i]) * Double(b[i])) }
    return s
}

extension Device {
    func tensor(random rng: inout TestRandom, _ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) throws -> Tensor {
        try tensor(rng.values(shape.reduce(1, *), lo, hi), shape: shape)
    }
}

/// Naive host references in double precision.
enum Reference {
    /// y(Cout, N, Tout, V) of a temporal convolution (kernel kt, padding (kt−1)/2, stride s) with bias.
    static func temporalConv(x: [Float], _ s: ActivationShape, w: [Float], b: [Float], cout: Int, kt: Int, stride: Int) -> [Float] {
        let pad = (kt - 1) / 2
        let tout = (s.frames + 2 * pad - kt) / stride + 1
        var y = [Float](repeating: 0, count: cout * s.batch * tout * s.joints)
        for co in 0..<cout { for n in 0..<s.batch { for to in 0..<tout { for v in 0..<s.joints {
            var acc = Double(b[co])
            for ci in 0..<s.channels { for k in 0..<kt {
                let t = to * stride + k - pad
                if t < 0 || t >= s.frames { continue }
                let wi = (co * s.channels + ci) * kt + k
                let xi = ((ci * s.batch + n) * s.frames + t) * s.joints + v
                acc += Double(w[wi]) * Double(x[xi])
            } }
            y[((co * s.batch + n) * tout + to) * s.joints + v] = Float(acc)
        } } } }
        return y
    }

    /// z = W·x + b (channel-major) and y[c,n,t,j] = Σ_k Σ_i z[k·Cout + c, n, t, i]·A_k(i,j)·E_k(i,j).
    static func graphConv(x: [Float], _ s: ActivationShape, w: [Float], b: [Float], kc: Int,
                          a: [Float], e: [Float], k: Int) -> (z: [Float], y: [Float]) {
        let p = s.plane, v = s.joints, cout = kc / k
        var z = [Float](repeating: 0, count: kc * p)
        for o in 0..<kc { for q in 0..<p {
            var acc = Double(b[o])
            for ci in 0..<s.channels { acc += Double(w[o * s.channels + ci]) * Double(x[ci * p + q]) }
            z[o * p + q] = Float(acc)
        } }
        var y = [Float](repeating: 0, count: cout * p)
        let rows = cout * s.batch * s.frames
        for r in 0..<rows { for j in 0..<v {
            var acc = 0.0
            for kk in 0..<k { for i in 0..<v {
                let ahat = Double(a[(kk * v + i) * v + j]) * Double(e[(kk * v + i) * v + j])
                acc += Double(z[(kk * rows + r) * v + i]) * ahat
            } }
            y[r * v + j] = Float(acc)
        } }
        return (z, y)
    }

    /// Row-major C = alpha·op(A)·op(B) + beta·C on full matrices.
    static func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                     _ a: [Float], _ aOff: Int, _ lda: Int, _ b: [Float], _ bOff: Int, _ ldb: Int,
                     _ beta: Float, _ c: inout [Float], _ cOff: Int, _ ldc: Int) {
        for i in 0..<m { for j in 0..<n {
            var acc = 0.0
            for l in 0..<k {
                let av = ta ? a[aOff + l * lda + i] : a[aOff + i * lda + l]
                let bv = tb ? b[bOff + j * ldb + l] : b[bOff + l * ldb + j]
                acc += Double(av) * Double(bv)
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[cOff + i * ldc + j])
            c[cOff + i * ldc + j] = Float(Double(alpha) * acc + old)
        } }
    }

    /// log-softmax of one row in double.
    static func logSoftmax(_ row: ArraySlice<Float>) -> [Double] {
        let m = Double(row.max()!)
        let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
        return row.map { Double($0) - lse }
    }
}
