import Foundation
import Compute

/// Plain loop implementations of every op, in Double and in PyTorch's logical layouts
/// ((N, C, T, V) activations, (Cout, Cin, kt) weights), written from the formulas and not
/// from the backend. Tests convert between these layouts and the channel-major device layout.
enum Ref {
    // MARK: Layouts

    /// (N, C, T, V) → (C, N, T, V).
    static func toChannelMajor(_ x: [Double], n: Int, c: Int, t: Int, v: Int) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for b in 0 ..< n { for ch in 0 ..< c { for ti in 0 ..< t { for j in 0 ..< v {
            y[((ch * n + b) * t + ti) * v + j] = x[((b * c + ch) * t + ti) * v + j]
        } } } }
        return y
    }

    /// (C, N, T, V) → (N, C, T, V).
    static func fromChannelMajor(_ x: [Double], n: Int, c: Int, t: Int, v: Int) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for b in 0 ..< n { for ch in 0 ..< c { for ti in 0 ..< t { for j in 0 ..< v {
            y[((b * c + ch) * t + ti) * v + j] = x[((ch * n + b) * t + ti) * v + j]
        } } } }
        return y
    }

    static func idx(_ b: Int, _ ch: Int, _ ti: Int, _ j: Int, c: Int, t: Int, v: Int) -> Int {
        ((b * c + ch) * t + ti) * v + j
    }

    // MARK: Convolutions

    /// PyTorch Conv2d(Cin, Cout, (kt, 1), stride (s, 1), padding (pad, 0)) over (N, Cin, T, V).
    /// A 1x1 convolution is kt = 1, pad = 0.
    static func temporalConv(_ x: [Double], n: Int, cin: Int, t: Int, v: Int, weight: [Double], bias: [Double],
                             cout: Int, kernel: Int, stride: Int) -> (y: [Double], tOut: Int) {
        let pad = (kernel - 1) / 2
        let tOut = (t + 2 * pad - kernel) / stride + 1
        var y = [Double](repeating: 0, count: n * cout * tOut * v)
        for b in 0 ..< n { for co in 0 ..< cout { for to in 0 ..< tOut { for j in 0 ..< v {
            var s = bias[co]
            for ci in 0 ..< cin { for k in 0 ..< kernel {
                let ti = to * stride + k - pad
                if ti >= 0 && ti < t {
                    s += weight[(co * cin + ci) * kernel + k] * x[idx(b, ci, ti, j, c: cin, t: t, v: v)]
                }
            } }
            y[idx(b, co, to, j, c: cout, t: tOut, v: v)] = s
        } } } }
        return (y, tOut)
    }

    /// Gradients of `temporalConv` for output gradient dy, straight from the same sum.
    static func temporalConvBackward(_ x: [Double], n: Int, cin: Int, t: Int, v: Int, weight: [Double],
                                     cout: Int, kernel: Int, stride: Int, dy: [Double])
        -> (dx: [Double], dW: [Double], db: [Double]) {
        let pad = (kernel - 1) / 2
        let tOut = (t + 2 * pad - kernel) / stride + 1
        var dx = [Double](repeating: 0, count: x.count)
        var dW = [Double](repeating: 0, count: weight.count)
        var db = [Double](repeating: 0, count: cout)
        for b in 0 ..< n { for co in 0 ..< cout { for to in 0 ..< tOut { for j in 0 ..< v {
            let g = dy[idx(b, co, to, j, c: cout, t: tOut, v: v)]
            db[co] += g
            for ci in 0 ..< cin { for k in 0 ..< kernel {
                let ti = to * stride + k - pad
                if ti >= 0 && ti < t {
                    let xi = idx(b, ci, ti, j, c: cin, t: t, v: v)
                    dW[(co * cin + ci) * kernel + k] += g * x[xi]
                    dx[xi] += g * weight[(co * cin + ci) * kernel + k]
                }
            } }
        } } } }
        return (dx, dW, db)
    }

    /// ST-GCN ConvTemporalGraphical: conv 1x1 to K·Cout channels, view (N, K, Cout, T, V),
    /// einsum 'nkctv,kvw->nctw' with A ⊙ E.
    static func graphConv(_ x: [Double], n: Int, cin: Int, t: Int, v: Int, weight: [Double], bias: [Double],
                          k: Int, cout: Int, a: [Double], e: [Double]) -> [Double] {
        let (z, _) = temporalConv(x, n: n, cin: cin, t: t, v: v, weight: weight, bias: bias,
                                  cout: k * cout, kernel: 1, stride: 1)
        var y = [Double](repeating: 0, count: n * cout * t * v)
        for b in 0 ..< n { for c in 0 ..< cout { for ti in 0 ..< t { for w in 0 ..< v {
            var s = 0.0
            for p in 0 ..< k { for i in 0 ..< v {
                s += z[idx(b, p * cout + c, ti, i, c: k * cout, t: t, v: v)] * a[(p * v + i) * v + w] * e[(p * v + i) * v + w]
            } }
            y[idx(b, c, ti, w, c: cout, t: t, v: v)] = s
        } } } }
        return y
    }

    // MARK: Normalisation

    /// BatchNorm over (N, C, L) in training mode: returns y, the batch mean, the biased
    /// and the unbiased variance per channel.
    static func batchNormTrain(_ x: [Double], n: Int, c: Int, l: Int, gamma: [Double], beta: [Double], eps: Double)
        -> (y: [Double], mean: [Double], biased: [Double], unbiased: [Double]) {
        var y = x, mean = [Double](repeating: 0, count: c)
        var biased = mean, unbiased = mean
        let count = Double(n * l)
        for ch in 0 ..< c {
            var s = 0.0
            for b in 0 ..< n { for i in 0 ..< l { s += x[(b * c + ch) * l + i] } }
            let m = s / count
            var ss = 0.0
            for b in 0 ..< n { for i in 0 ..< l { let d = x[(b * c + ch) * l + i] - m; ss += d * d } }
            mean[ch] = m; biased[ch] = ss / count; unbiased[ch] = ss / (count - 1)
            for b in 0 ..< n { for i in 0 ..< l {
                let j = (b * c + ch) * l + i
                y[j] = (x[j] - m) / (biased[ch] + eps).squareRoot() * gamma[ch] + beta[ch]
            } }
        }
        return (y, mean, biased, unbiased)
    }

    static func batchNormEval(_ x: [Double], n: Int, c: Int, l: Int, gamma: [Double], beta: [Double],
                              mean: [Double], variance: [Double], eps: Double) -> [Double] {
        var y = x
        for b in 0 ..< n { for ch in 0 ..< c { for i in 0 ..< l {
            let j = (b * c + ch) * l + i
            y[j] = (x[j] - mean[ch]) / (variance[ch] + eps).squareRoot() * gamma[ch] + beta[ch]
        } } }
        return y
    }

    // MARK: Elementwise

    static func relu(_ x: [Double]) -> [Double] { x.map { max($0, 0) } }

    /// Inverted dropout from the contract's reference path, `RandomKey.uniform`.
    static func dropout(_ x: [Double], p: Double, key: RandomKey) -> [Double] {
        x.indices.map { i in Double(key.uniform(i)) >= p ? x[i] / (1 - p) : 0 }
    }

    /// numpy-style transpose of a row-major array.
    static func permute(_ x: [Double], shape: [Int], perm: [Int]) -> [Double] {
        let rank = shape.count
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        let outShape = perm.map { shape[$0] }
        var y = [Double](repeating: 0, count: x.count)
        for o in 0 ..< x.count {
            var rem = o, src = 0
            for d in stride(from: rank - 1, through: 0, by: -1) {
                let coord = rem % outShape[d]
                rem /= outShape[d]
                src += coord * strides[perm[d]]
            }
            y[o] = x[src]
        }
        return y
    }

    // MARK: Heads

    /// x (N·M, C, T, V) → mean over (T, V), then over persons → (N, C).
    static func pool(_ x: [Double], samples: Int, persons: Int, c: Int, plane: Int) -> [Double] {
        var y = [Double](repeating: 0, count: samples * c)
        for n in 0 ..< samples { for ch in 0 ..< c {
            var s = 0.0
            for m in 0 ..< persons { for p in 0 ..< plane { s += x[((n * persons + m) * c + ch) * plane + p] } }
            y[n * c + ch] = s / Double(persons * plane)
        } }
        return y
    }

    static func linear(_ x: [Double], rows: Int, inp: Int, weight: [Double], bias: [Double], out: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * out)
        for r in 0 ..< rows { for o in 0 ..< out {
            var s = bias[o]
            for i in 0 ..< inp { s += x[r * inp + i] * weight[o * inp + i] }
            y[r * out + o] = s
        } }
        return y
    }

    static func l2Normalize(_ x: [Double], rows: Int, d: Int, eps: Double) -> [Double] {
        var y = x
        for r in 0 ..< rows {
            var ss = 0.0
            for i in 0 ..< d { ss += x[r * d + i] * x[r * d + i] }
            let norm = max(ss.squareRoot(), eps)
            for i in 0 ..< d { y[r * d + i] = x[r * d + i] / norm }
        }
        return y
    }

    // MARK: Losses

    static func logSoftmax(_ row: ArraySlice<Double>) -> [Double] {
        let m = row.max()!
        let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
        return row.map { $0 - lse }
    }

    static func crossEntropy(_ logits: [Double], rows: Int, classes: Int, labels: [Int]) -> Double {
        var s = 0.0
        for r in 0 ..< rows { s -= logSoftmax(logits[r * classes ..< (r + 1) * classes])[labels[r]] }
        return s / Double(rows)
    }

    static func softTargetCrossEntropy(_ logits: [Double], target: [Double], rows: Int, classes: Int) -> Double {
        var s = 0.0
        for r in 0 ..< rows {
            let ls = logSoftmax(logits[r * classes ..< (r + 1) * classes])
            let p = logSoftmax(target[r * classes ..< (r + 1) * classes]).map { exp($0) }
            for j in 0 ..< classes { s -= p[j] * ls[j] }
        }
        return s / Double(rows)
    }

    static func maskedCrossEntropy(_ logits: [Double], mask: [Double], rows: Int, classes: Int) -> Double {
        var s = 0.0
        for r in 0 ..< rows {
            let ls = logSoftmax(logits[r * classes ..< (r + 1) * classes])
            var count = 0.0, acc = 0.0
            for j in 0 ..< classes where mask[r * classes + j] != 0 { count += 1; acc += ls[j] }
            s -= acc / count
        }
        return s / Double(rows)
    }

    /// MoCo logits [q·k, q·queue] / τ with queue (D, K).
    static func contrastiveLogits(q: [Double], k: [Double], queue: [Double], rows: Int, d: Int, size: Int,
                                  tau: Double) -> [Double] {
        var l = [Double](repeating: 0, count: rows * (1 + size))
        for r in 0 ..< rows {
            var pos = 0.0
            for i in 0 ..< d { pos += q[r * d + i] * k[r * d + i] }
            l[r * (1 + size)] = pos / tau
            for j in 0 ..< size {
                var s = 0.0
                for i in 0 ..< d { s += q[r * d + i] * queue[i * size + j] }
                l[r * (1 + size) + 1 + j] = s / tau
            }
        }
        return l
    }

    /// NNM positives by fully sorting each row (value descending, then index ascending).
    static func nearestNeighbourMask(_ sims: [[Double]], rows: Int, width: Int, topK: Int) -> [Double] {
        var mask = [Double](repeating: 0, count: rows * width)
        for r in 0 ..< rows {
            mask[r * width] = 1
            for s in sims {
                let order = (1 ..< width).sorted { a, b in
                    let va = s[r * width + a], vb = s[r * width + b]
                    return va != vb ? va > vb : a < b
                }
                for j in order.prefix(topK) { mask[r * width + j] = 1 }
            }
        }
        return mask
    }

    // MARK: EADM

    /// att_drop.py (fixed version) over F (N, C, T, V): the attention, the joint attention,
    /// the kept-element scale (masks times the batch-global rescales) and the output.
    static func eadm(_ f: [Double], n: Int, c: Int, t: Int, v: Int, threshold: Double, lambda: Double)
        -> (att: [Double], jointAtt: [Double], scale: [Double], y: [Double]) {
        var att = f
        let tv = Double(t * v)
        for b in 0 ..< n { for ch in 0 ..< c {
            var mu = 0.0
            for ti in 0 ..< t { for j in 0 ..< v { mu += f[idx(b, ch, ti, j, c: c, t: t, v: v)] } }
            mu /= tv
            var dsum = 0.0
            for ti in 0 ..< t { for j in 0 ..< v { dsum += pow(f[idx(b, ch, ti, j, c: c, t: t, v: v)] - mu, 2) } }
            let varHat = dsum / (tv - 1)
            for ti in 0 ..< t { for j in 0 ..< v {
                let i = idx(b, ch, ti, j, c: c, t: t, v: v)
                let yv = pow(f[i] - mu, 2) / (4 * (varHat + lambda)) + 0.5
                att[i] = 1 / (1 + exp(-yv))
            } }
        } }
        var jointAtt = [Double](repeating: 0, count: n * v)
        for b in 0 ..< n { for j in 0 ..< v {
            var s = 0.0
            for ch in 0 ..< c { for ti in 0 ..< t { s += att[idx(b, ch, ti, j, c: c, t: t, v: v)] } }
            jointAtt[b * v + j] = s / Double(c * t)
        } }
        let ms = jointAtt.map { $0 >= threshold ? 0.0 : 1.0 }
        let mt = att.map { $0 >= threshold ? 0.0 : 1.0 }
        let sumS = ms.reduce(0, +), sumT = mt.reduce(0, +)
        var scale = f, y = f
        for b in 0 ..< n { for ch in 0 ..< c { for ti in 0 ..< t { for j in 0 ..< v {
            let i = idx(b, ch, ti, j, c: c, t: t, v: v)
            scale[i] = ms[b * v + j] * (Double(n * v) / sumS) * mt[i] * (Double(f.count) / sumT)
            y[i] = f[i] * scale[i]
        } } } }
        return (att, jointAtt, scale, y)
    }

    // MARK: Optimisation

    /// torch.optim.SGD(momentum, weight_decay, dampening 0, nesterov), one step.
    static func sgd(weight: inout [Double], grad: [Double], buffer: inout [Double]?, lr: Double,
                    momentum: Double, weightDecay: Double, nesterov: Bool = false) {
        let d = zip(grad, weight).map { $0 + weightDecay * $1 }
        if let b = buffer {
            buffer = zip(b, d).map { momentum * $0 + $1 }
        } else {
            buffer = d
        }
        for i in weight.indices { weight[i] -= lr * (nesterov ? d[i] + momentum * buffer![i] : buffer![i]) }
    }
}
