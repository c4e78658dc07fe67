import Compute

/// Parameter updates and the squared norm used for clipping and diagnostics.
extension CPUDevice {
    public func sgdStep(weight: Tensor, grad: Tensor, momentumBuffer: Tensor, learningRate: Float,
                        momentum: Float, weightDecay: Float, firstStep: Bool, nesterov: Bool) {
        guard let cost = errors.check({
            try OpContract.sgdStep(weight: weight, grad: grad, momentumBuffer: momentumBuffer)
        }) else { return }
        let n = weight.count
        let pw = weight.cpuPointer, pg = grad.cpuPointer, pb = momentumBuffer.cpuPointer
        measure("sgdStep", cost) {
            parallelFor(n, threads: threads, minimumPerChunk: 1 << 15) { r in
                for i in r {
                    let d = pg[i] + weightDecay * pw[i]
                    let buf = firstStep ? d : momentum * pb[i] + d
                    pb[i] = buf
                    pw[i] -= learningRate * (nesterov ? d + momentum * buf : buf)
                }
            }
        }
    }

    public func momentumUpdate(key: Tensor, query: Tensor, momentum: Float) {
        guard let cost = errors.check({ try OpContract.momentumUpdate(key: key, query: query) }) else { return }
        let n = key.count
        let pk = key.cpuPointer, pq = query.cpuPointer
        let m = momentum, q = 1 - momentum
        measure("momentumUpdate", cost) {
            parallelFor(n, threads: threads, minimumPerChunk: 1 << 15) { r in
                for i in r { pk[i] = m * pk[i] + q * pq[i] }
            }
        }
    }

    public func sumOfSquares(_ x: Tensor, out: Tensor) {
        guard let cost = errors.check({ try OpContract.sumOfSquares(x: x, out: out) }) else { return }
        let n = x.count
        let px = x.cpuPointer
        measure("sumOfSquares", cost) {
            let chunks = max(1, min(threads, n / (1 << 15)))
            withUnsafeTemporaryAllocation(of: Double.self, capacity: chunks) { partial in
                let part = partial.baseAddress!
                parallelFor(chunks, threads: threads) { r in
                    for chunk in r {
                        let lo = n * chunk / chunks, hi = n * (chunk + 1) / chunks
                        var s0 = 0.0, s1 = 0.0
                        var i = lo
                        while i + 2 <= hi {
                            s0 += Double(px[i]) * Double(px[i]); s1 += Double(px[i + 1]) * Double(px[i + 1])
                            i += 2
                        }
                        if i < hi { s0 += Double(px[i]) * Double(px[i]) }
                        part[chunk] = s0 + s1
                    }
                }
                var s = 0.0
                for i in 0 ..< chunks { s += part[i] }
                out.cpuPointer[0] = Float(s)
            }
        }
    }
}
