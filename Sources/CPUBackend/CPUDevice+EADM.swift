import CPUKernels
import Compute

/// EADM (energy-based attention-guided drop), spec §2.6, over F (C, N, T, V):
/// SimAM attention per (c, n) plane, a joint mask from the attention averaged over (c, t),
/// an element mask from the attention itself, each with a batch-global rescale. The masks
/// are stop-gradient constants, so the caller's backward is dy ⊙ scale.
extension CPUDevice {
    public func eadmForward(x: Tensor, shape: ActivationShape, threshold: Float, lambda: Float,
                            noOp: Bool, scale: Tensor, y: Tensor, rescales: Tensor?) {
        let c = shape.channels, n = shape.batch, tv = shape.frames * shape.joints, v = shape.joints
        let t = shape.frames
        let numel = shape.count
        guard let cost = errors.check({ try OpContract.eadmForward(x: x, shape: shape, noOp: noOp, scale: scale, y: y,
                                                                    rescales: rescales) })
        else { return }
        let px = x.cpuPointer, ps = scale.cpuPointer, py = y.cpuPointer
        if noOp {
            measure("eadmForward", cost) {
                ps.update(repeating: 1, count: numel)
                if py != px { py.update(from: px, count: numel) }
                if let r = rescales { r.cpuPointer[0] = 1; r.cpuPointer[1] = 1 }
            }
            return
        }
        measure("eadmForward", cost) {
            withUnsafeTemporaryAllocation(of: Int.self, capacity: max(c * n, 1)) { keptPerPlane in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: max(n * v, 1)) { jointMean in
                let kept = keptPerPlane.baseAddress!, js = jointMean.baseAddress!
                // 1. Attention per plane (stored in `scale` for now) and the element-mask counts.
                parallelFor(c * n, threads: threads, minimumPerChunk: max(1, 8192 / max(tv, 1))) { planes in
                    for plane in planes {
                        let count = aimclr_eadm_attention(px + plane * tv, tv, lambda, threshold, ps + plane * tv)
                        kept[plane] = count
                    }
                }
                // 2. Joint attention A_s[n, v] = mean over (c, t).
                parallelFor(n, threads: threads) { samples in
                    for b in samples {
                        let acc = js + b * v
                        acc.update(repeating: 0, count: v)
                        for ch in 0 ..< c {
                            let att = ps + (ch * n + b) * tv
                            for ti in 0 ..< t {
                                for j in 0 ..< v { acc[j] += Double(att[ti * v + j]) }
                            }
                        }
                        let inv = 1 / Double(c * t)
                        for j in 0 ..< v { acc[j] *= inv }
                    }
                }
                var keptJoints = 0
                for i in 0 ..< n * v where Float(js[i]) < threshold { keptJoints += 1 }
                var keptElements = 0
                for i in 0 ..< c * n { keptElements += kept[i] }
                // Batch-global rescales; no kept entries means everything is dropped.
                let jointScale = keptJoints > 0 ? Float(Double(n * v) / Double(keptJoints)) : 0
                let elementScale = keptElements > 0 ? Float(Double(numel) / Double(keptElements)) : 0
                let both = jointScale * elementScale
                if let r = rescales { r.cpuPointer[0] = jointScale; r.cpuPointer[1] = elementScale }
                // 3. scale = m_s · m_t · rescales, y = F · scale.
                parallelFor(c * n, threads: threads, minimumPerChunk: max(1, 8192 / max(tv, 1))) { planes in
                    for plane in planes {
                        let b = plane % n
                        let f = px + plane * tv, s = ps + plane * tv, out = py + plane * tv
                        let joints = js + b * v
                        for ti in 0 ..< t {
                            for j in 0 ..< v {
                                let i = ti * v + j
                                let keep = Float(joints[j]) < threshold && s[i] < threshold
                                let k: Float = keep ? both : 0
                                s[i] = k
                                out[i] = f[i] * k
                            }
                        }
                    }
                }
            }
            }
        }
    }
}
