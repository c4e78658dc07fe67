import Compute
import Foundation

/// Weighted k-nearest-neighbour classification on L2-normalised representations, as SimSiam's
/// `knn_monitor` (the protocol the AimCLR author names, spec §5.4): the training set is the
/// memory bank; each test sample takes its k most cosine-similar bank entries, and each of them
/// votes for its class with weight exp(s / T). The class scores rank the predictions.
public struct KNNClassifier {
    public var k: Int
    public var temperature: Float
    /// Test rows per similarity GEMM on the device.
    public var blockRows: Int
    /// Standardise both sets with the bank's per-dimension statistics before the L2 normalisation
    /// (`FeatureStandardization`); off in the reference protocol.
    public var standardize = false

    public init(k: Int = 200, temperature: Float = 0.1, standardize: Bool = false, blockRows: Int = 256) {
        self.k = k; self.temperature = temperature; self.standardize = standardize; self.blockRows = blockRows
    }

    /// Rows scaled to unit L2 norm (a zero row stays zero), as `F.normalize(dim=1)`.
    public static func normalized(_ x: [Float], dimension d: Int) -> [Float] {
        var out = x
        out.withUnsafeMutableBufferPointer { p in
            for r in 0..<(x.count / d) {
                let row = p.baseAddress! + r * d
                var s = 0.0
                for j in 0..<d { s += Double(row[j]) * Double(row[j]) }
                let inv = Float(1 / max(s.squareRoot(), 1e-12))
                for j in 0..<d { row[j] *= inv }
            }
        }
        return out
    }

    /// Class scores (test count, classes): Σ over the k nearest bank entries of exp(s / T) per class.
    /// Similarities are computed on `device` in blocks of `blockRows` test samples.
    public func scores(bank: FeatureSet, test: FeatureSet, classes: Int, device: Device) throws -> [Float] {
        guard bank.dimension == test.dimension else {
            throw EvaluationError.shape(what: "kNN", detail: "bank dimension \(bank.dimension) vs test \(test.dimension)")
        }
        guard k > 0, temperature > 0 else {
            throw EvaluationError.invalidSetting(name: "kNN", detail: "k (\(k)) and temperature (\(temperature)) must be positive")
        }
        guard bank.count > 0 else { throw EvaluationError.shape(what: "kNN", detail: "empty memory bank") }
        let d = bank.dimension, nb = bank.count, kk = min(k, nb)
        let standardization = standardize ? FeatureStandardization(fitting: bank) : nil
        let bankValues = standardization.map { $0.apply(bank).values } ?? bank.values
        let testValues = standardization.map { $0.apply(test).values } ?? test.values
        let bankTensor = try device.tensor(Self.normalized(bankValues, dimension: d), shape: [nb, d])
        let queries = Self.normalized(testValues, dimension: d)
        var out = [Float](repeating: 0, count: test.count * classes)
        let rows = max(1, min(blockRows, test.count))
        var tensors: [Int: (query: Tensor, sims: Tensor)] = [:]
        var sims = [Float](repeating: 0, count: rows * nb)
        var heapValues = [Float](repeating: 0, count: kk), heapIndex = [Int](repeating: 0, count: kk)
        var start = 0
        while start < test.count {
            let n = min(rows, test.count - start)
            if tensors[n] == nil { tensors[n] = (try device.makeTensor([n, d]), try device.makeTensor([n, nb])) }
            let (queryTensor, simTensor) = tensors[n]!
            queries.withUnsafeBufferPointer { q in
                device.upload(UnsafeBufferPointer(rebasing: q[(start * d)..<((start + n) * d)]), to: queryTensor)
            }
            device.gemm(transA: false, transB: true, m: n, n: nb, k: d, alpha: 1, a: queryTensor, aOffset: 0, lda: d,
                        b: bankTensor, bOffset: 0, ldb: d, beta: 0, c: simTensor, cOffset: 0, ldc: nb)
            sims.withUnsafeMutableBufferPointer { device.download(simTensor, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * nb)])) }
            sims.withUnsafeBufferPointer { s in
                heapValues.withUnsafeMutableBufferPointer { hv in
                    heapIndex.withUnsafeMutableBufferPointer { hi in
                        out.withUnsafeMutableBufferPointer { o in
                            for r in 0..<n {
                                let row = s.baseAddress! + r * nb
                                Self.topK(row, count: nb, k: kk, values: hv.baseAddress!, indices: hi.baseAddress!)
                                let scores = o.baseAddress! + (start + r) * classes
                                for j in 0..<kk {
                                    let c = bank.labels[hi[j]]
                                    if c >= 0 && c < classes { scores[c] += Float(exp(Double(hv[j]) / Double(temperature))) }
                                }
                            }
                        }
                    }
                }
            }
            start += n
        }
        return out
    }

    /// Predictions and accuracies of `test` against the `bank`.
    public func evaluate(bank: FeatureSet, test: FeatureSet, device: Device) throws -> ClassificationReport {
        let classes = max(bank.labels.max() ?? -1, test.labels.max() ?? -1) + 1
        let s = try scores(bank: bank, test: test, classes: classes, device: device)
        return ClassificationMetrics.report(scores: s, classes: classes, labels: test.labels)
    }

    /// The k largest of `row[0..<count]` (any order) via a size-k min-heap.
    static func topK(_ row: UnsafePointer<Float>, count: Int, k: Int,
                     values: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int>) {
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < k && values[l] < values[m] { m = l }
                if r < k && values[r] < values[m] { m = r }
                if m == i { return }
                values.swapAt(i, m)
                indices.swapAt(i, m)
                i = m
            }
        }
        for j in 0..<k { values[j] = row[j]; indices[j] = j }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        for j in k..<count where row[j] > values[0] {
            values[0] = row[j]; indices[0] = j
            siftDown(0)
        }
    }
}

private extension UnsafeMutablePointer {
    func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]; self[i] = self[j]; self[j] = t
    }
}
