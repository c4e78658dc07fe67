import Foundation

/// The real DFT along time behind the spectral temporal convolution (`CPUDevice+SpectralTemporalConv`).
///
/// A "same" convolution of T frames with an odd kernel K is a circular one of length N ≥ T + K − 1
/// on the zero-padded sequence, so it is exact in the DFT domain: Ŷ[f] = Ĝ[f]·X̂[f], with
/// X̂[f] = Σ_t x[t]·ω^(−f·t), Ĝ[f] = Σ_k w[k]·ω^(f·(k−pad)), ω = e^(2πi/N). N is odd, so the
/// real signal has J = 2F + 1 real components, F = (N − 1)/2, ordered DC, (re 1, im 1), …, (re F, im F).
/// Per frequency f ≥ 1 the channel mixing is one real GEMM with the block matrix
/// B_f = [[Re Ĝ, −Im Ĝ], [Im Ĝ, Re Ĝ]] (2·Cout × 2·Cin) on the stacked [re; im] rows: 1 + 4F GEMM
/// units of Cout·Cin per position against the direct form's K·T / T per frame (41 against
/// 9·13 = 117 for 13 frames, 65 against 225 for 25).
struct SpectralBasis {
    let frames: Int
    let kernel: Int
    /// N, odd, at least frames + kernel − 1.
    let length: Int
    /// F: the complex frequencies 1 ... F besides DC.
    var frequencies: Int { (length - 1) / 2 }
    /// J = 2F + 1 real components.
    var components: Int { length }
    /// (J × T), row-major: the components of x (X̂ = analysis · x).
    let analysis: [Float]
    /// (T × J), row-major: y = synthesis · Ŷ (the inverse DFT's real part at the T frames).
    let synthesis: [Float]
    /// Their transposes, row-major, for the adjoints: dx = analysisᵀ · dX̂, dŶ = synthesisᵀ · dy.
    let analysisTransposed: [Float], synthesisTransposed: [Float]
    /// cos and sin of 2π·f·(k − pad)/N, (F × K) each, for the weights' transform and its adjoint.
    let kernelCos: [Double], kernelSin: [Double]

    init(frames: Int, kernel: Int) {
        self.frames = frames
        self.kernel = kernel
        let minimum = frames + kernel - 1
        length = minimum % 2 == 1 ? minimum : minimum + 1
        let n = length, f = (n - 1) / 2, pad = (kernel - 1) / 2
        let angle = { (a: Int, b: Int) in 2 * Double.pi * Double((a * b) % n) / Double(n) }
        var analysis = [Float](repeating: 0, count: n * frames)
        var synthesis = [Float](repeating: 0, count: frames * n)
        for t in 0 ..< frames {
            analysis[t] = 1
            synthesis[t * n] = Float(1 / Double(n))
            for q in 1 ..< f + 1 {
                let theta = angle(q, t)
                analysis[(2 * q - 1) * frames + t] = Float(cos(theta))
                analysis[2 * q * frames + t] = Float(-sin(theta))
                synthesis[t * n + 2 * q - 1] = Float(2 * cos(theta) / Double(n))
                synthesis[t * n + 2 * q] = Float(-2 * sin(theta) / Double(n))
            }
        }
        self.analysis = analysis
        self.synthesis = synthesis
        analysisTransposed = (0 ..< frames * n).map { analysis[($0 % n) * frames + $0 / n] }
        synthesisTransposed = (0 ..< n * frames).map { synthesis[($0 % frames) * n + $0 / frames] }
        var kc = [Double](repeating: 0, count: f * kernel), ks = kc
        for q in 0 ..< f {
            for k in 0 ..< kernel {
                // (k − pad) mod N keeps the product's angle exact for negative taps.
                let theta = angle(q + 1, (k - pad + n) % n)
                kc[q * kernel + k] = cos(theta)
                ks[q * kernel + k] = sin(theta)
            }
        }
        kernelCos = kc
        kernelSin = ks
    }

    /// Floats of the transformed weights: W₀ (Cout × Cin) then B_f (2·Cout × 2·Cin) for f = 1 ... F.
    func blockWeightCount(cout: Int, cin: Int) -> Int { (1 + 4 * frequencies) * cout * cin }

    /// Offset of B_f (f ≥ 1) in the transformed weights.
    func blockOffset(_ f: Int, cout: Int, cin: Int) -> Int { (1 + 4 * (f - 1)) * cout * cin }

    /// The transformed weights of w (Cout, Cin, K) into `out` (`blockWeightCount` floats).
    func transformWeights(_ w: UnsafePointer<Float>, cout: Int, cin: Int, into out: UnsafeMutablePointer<Float>) {
        let f = frequencies, kernel = kernel, ld = 2 * cin
        kernelCos.withUnsafeBufferPointer { kc in
            kernelSin.withUnsafeBufferPointer { ks in
                for o in 0 ..< cout {
                    for i in 0 ..< cin {
                        let taps = w + (o * cin + i) * kernel
                        var dc = 0.0
                        for k in 0 ..< kernel { dc += Double(taps[k]) }
                        out[o * cin + i] = Float(dc)
                        for q in 1 ..< f + 1 {
                            var re = 0.0, im = 0.0
                            for k in 0 ..< kernel {
                                re += Double(taps[k]) * kc[(q - 1) * kernel + k]
                                im += Double(taps[k]) * ks[(q - 1) * kernel + k]
                            }
                            let b = out + blockOffset(q, cout: cout, cin: cin)
                            b[o * ld + i] = Float(re)
                            b[o * ld + cin + i] = Float(-im)
                            b[(cout + o) * ld + i] = Float(im)
                            b[(cout + o) * ld + cin + i] = Float(re)
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `transformWeights`: dW (Cout, Cin, K) from the gradient of the transformed weights.
    func weightGradient(_ db: UnsafePointer<Float>, cout: Int, cin: Int, into dw: UnsafeMutablePointer<Float>) {
        let f = frequencies, kernel = kernel, ld = 2 * cin
        kernelCos.withUnsafeBufferPointer { kc in
            kernelSin.withUnsafeBufferPointer { ks in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: kernel) { acc in
                    for o in 0 ..< cout {
                        for i in 0 ..< cin {
                            acc.update(repeating: Double(db[o * cin + i]))
                            for q in 1 ..< f + 1 {
                                let b = db + blockOffset(q, cout: cout, cin: cin)
                                let dRe = Double(b[o * ld + i]) + Double(b[(cout + o) * ld + cin + i])
                                let dIm = Double(b[(cout + o) * ld + i]) - Double(b[o * ld + cin + i])
                                for k in 0 ..< kernel {
                                    acc[k] += dRe * kc[(q - 1) * kernel + k] + dIm * ks[(q - 1) * kernel + k]
                                }
                            }
                            let out = dw + (o * cin + i) * kernel
                            for k in 0 ..< kernel { out[k] = Float(acc[k]) }
                        }
                    }
                }
            }
        }
    }
}
