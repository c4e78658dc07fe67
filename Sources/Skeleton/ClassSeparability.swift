import Foundation

/// Cheap, hand-made features of a prepared sample `(3, T, V, M)` and the nearest-class-mean
/// accuracy they reach. They measure how hard a dataset is: if the *mean pose* already
/// separates the classes, a random encoder with a linear probe does as well as a trained
/// one, so a useful benchmark must keep it low while a motion feature stays informative.
public enum SampleFeature: String, CaseIterable, Sendable {
    /// Mean over frames of every coordinate: `3·V·M` values (static posture only).
    case meanPose
    /// Per axis, joint and body, the root-mean-square frame-to-frame displacement, normalised
    /// to unit sum over the sample: `3·V·M` values (which joints move along which axis, not
    /// how or when).
    case velocityEnergy
    /// The whole sample flattened.
    case fullSequence

    /// The feature of one sample stored as `(3, frames, joints, bodies)` in C order.
    public func compute(_ x: UnsafeBufferPointer<Float>, frames t: Int, joints v: Int, bodies m: Int) -> [Double] {
        precondition(x.count == 3 * t * v * m, "sample holds \(x.count) values, (3, \(t), \(v), \(m)) needs \(3 * t * v * m)")
        let p = x.baseAddress!
        let plane = v * m
        switch self {
        case .meanPose:
            var f = [Double](repeating: 0, count: 3 * plane)
            f.withUnsafeMutableBufferPointer { o in
                for c in 0..<3 { for f0 in 0..<t {
                    let row = p + (c * t + f0) * plane
                    for k in 0..<plane { o[c * plane + k] += Double(row[k]) }
                } }
                for k in 0..<o.count { o[k] /= Double(t) }
            }
            return f
        case .velocityEnergy:
            var f = [Double](repeating: 0, count: 3 * plane)
            f.withUnsafeMutableBufferPointer { o in
                for c in 0..<3 { for f0 in 0..<(t - 1) {
                    let a = p + (c * t + f0) * plane, b = a + plane
                    for k in 0..<plane { let d = Double(b[k] - a[k]); o[c * plane + k] += d * d }
                } }
                var sum = 0.0
                for k in 0..<o.count { o[k] = (o[k] / Double(max(1, t - 1))).squareRoot(); sum += o[k] }
                if sum > 0 { for k in 0..<o.count { o[k] /= sum } }
            }
            return f
        case .fullSequence:
            return x.map(Double.init)
        }
    }
}

/// Nearest-class-mean classification with hand-made features: train class means, val accuracy.
public enum ClassSeparability {
    /// Accuracy on `val` of assigning each sample to the class whose mean `feature` over
    /// `train` is nearest (Euclidean). Classes absent from `train` are never predicted.
    public static func nearestClassMeanAccuracy(train: SkeletonDataset, val: SkeletonDataset, feature: SampleFeature) -> Double {
        let shape = train.positions.shape
        let (t, v, m) = (shape[2], shape[3], shape[4])
        let classes = max(train.classCount, val.classCount)
        let row = train.positions.rowCount
        var buffer = [Float](repeating: 0, count: row)
        func features(_ d: SkeletonDataset, _ i: Int) -> [Double] {
            buffer.withUnsafeMutableBufferPointer { b in
                d.positions.copyFloats(from: i * row, count: row, into: b.baseAddress!)
                return feature.compute(UnsafeBufferPointer(b), frames: t, joints: v, bodies: m)
            }
        }
        var means: [[Double]] = Array(repeating: [], count: classes)
        var counts = [Int](repeating: 0, count: classes)
        for i in 0..<train.count {
            let f = features(train, i), l = train.labels.labels[i]
            if means[l].isEmpty { means[l] = f } else { for k in 0..<f.count { means[l][k] += f[k] } }
            counts[l] += 1
        }
        for l in 0..<classes where counts[l] > 0 { for k in 0..<means[l].count { means[l][k] /= Double(counts[l]) } }
        var correct = 0
        for i in 0..<val.count {
            let f = features(val, i)
            var best = -1, bestD = Double.infinity
            for l in 0..<classes where counts[l] > 0 {
                var d = 0.0
                means[l].withUnsafeBufferPointer { mu in
                    for k in 0..<f.count { let e = mu[k] - f[k]; d += e * e }
                }
                if d < bestD { bestD = d; best = l }
            }
            if best == val.labels.labels[i] { correct += 1 }
        }
        return val.count == 0 ? 0 : Double(correct) / Double(val.count)
    }
}
