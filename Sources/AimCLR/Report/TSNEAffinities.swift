import Foundation

/// The symmetric input affinities P of t-SNE (summing to 1): dense (N × N) for exact t-SNE,
/// or sparse over each point's 3·perplexity nearest neighbours (CSR, symmetrised) for Barnes–Hut.
struct TSNEAffinities: Sendable {
    let count: Int
    /// Dense: count × count values. Sparse: the values of `columns`, row by row.
    let values: [Double]
    /// Sparse only: row i's entries are rowStart[i] ..< rowStart[i + 1].
    let rowStart: [Int]
    let columns: [Int32]
    var isSparse: Bool { !rowStart.isEmpty }

    static func dense(_ x: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int, perplexity: Double) -> TSNEAffinities {
        var p = [Double](repeating: 0, count: n * n)
        var distances = [Double](repeating: 0, count: n)
        p.withUnsafeMutableBufferPointer { pp in
            distances.withUnsafeMutableBufferPointer { dist in
                for i in 0..<n {
                    for j in 0..<n { dist[j] = squaredDistance(x, i, j, d) }
                    dist[i] = .infinity
                    let row = UnsafeMutableBufferPointer(rebasing: pp[(i * n)..<((i + 1) * n)])
                    calibrate(distances: UnsafeBufferPointer(dist), perplexity: perplexity, into: row)
                    row[i] = 0
                }
                // P = (P_j|i + P_i|j) / 2N, floored so no pair is pulled with zero weight.
                for i in 0..<n {
                    for j in (i + 1)..<n {
                        let s = max((pp[i * n + j] + pp[j * n + i]) / Double(2 * n), 1e-12)
                        pp[i * n + j] = s
                        pp[j * n + i] = s
                    }
                }
            }
        }
        return TSNEAffinities(count: n, values: p, rowStart: [], columns: [])
    }

    static func sparse(_ x: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int, perplexity: Double,
                       neighbours k: Int) -> TSNEAffinities {
        // Conditional affinities over each row's k nearest neighbours (exact search).
        var neighbourIndex = [Int32](repeating: 0, count: n * k)
        var conditional = [Double](repeating: 0, count: n * k)
        var heapDistance = [Double](repeating: 0, count: k)
        var heapIndex = [Int32](repeating: 0, count: k)
        neighbourIndex.withUnsafeMutableBufferPointer { nb in
            conditional.withUnsafeMutableBufferPointer { cp in
                heapDistance.withUnsafeMutableBufferPointer { hd in
                    heapIndex.withUnsafeMutableBufferPointer { hi in
                        for i in 0..<n {
                            var size = 0
                            for j in 0..<n where j != i {
                                let dij = squaredDistance(x, i, j, d)
                                if size < k {
                                    MaxHeap.push(dij, Int32(j), distances: hd, indices: hi, size: &size)
                                } else if dij < hd[0] {
                                    MaxHeap.replaceTop(dij, Int32(j), distances: hd, indices: hi, size: size)
                                }
                            }
                            for m in 0..<k { nb[i * k + m] = hi[m] }
                            let row = UnsafeMutableBufferPointer(rebasing: cp[(i * k)..<((i + 1) * k)])
                            calibrate(distances: UnsafeBufferPointer(hd), perplexity: perplexity, into: row)
                        }
                    }
                }
            }
        }
        // Symmetrise: P_ij + P_ji over the union of both neighbour lists, normalised to sum 1.
        var entries: [(row: Int32, column: Int32, value: Double)] = []
        entries.reserveCapacity(2 * n * k)
        for i in 0..<n {
            for m in 0..<k {
                let j = neighbourIndex[i * k + m], v = conditional[i * k + m]
                entries.append((Int32(i), j, v))
                entries.append((j, Int32(i), v))
            }
        }
        entries.sort { ($0.row, $0.column) < ($1.row, $1.column) }
        var rowCount = [Int](repeating: 0, count: n)
        var columns: [Int32] = [], values: [Double] = []
        columns.reserveCapacity(entries.count); values.reserveCapacity(entries.count)
        var total = 0.0
        var previous: (Int32, Int32) = (-1, -1)
        for e in entries {
            total += e.value
            if e.row == previous.0 && e.column == previous.1 { values[values.count - 1] += e.value; continue }
            columns.append(e.column); values.append(e.value)
            rowCount[Int(e.row)] += 1
            previous = (e.row, e.column)
        }
        var rowStart = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { rowStart[i + 1] = rowStart[i] + rowCount[i] }
        let scale = total > 0 ? 1 / total : 0
        return TSNEAffinities(count: n, values: values.map { $0 * scale }, rowStart: rowStart, columns: columns)
    }

    @inline(__always)
    static func squaredDistance(_ x: UnsafeBufferPointer<Float>, _ i: Int, _ j: Int, _ d: Int) -> Double {
        var s: Float = 0
        let a = i * d, b = j * d
        for c in 0..<d { let t = x[a + c] - x[b + c]; s += t * t }
        return Double(s)
    }

    /// Gaussian conditional probabilities exp(-β d_j) / Σ, with β found by binary search so the
    /// row's entropy is ln(perplexity). Infinite distances get probability 0.
    static func calibrate(distances: UnsafeBufferPointer<Double>, perplexity: Double, into p: UnsafeMutableBufferPointer<Double>) {
        var minimum = Double.infinity
        for v in distances where v < minimum { minimum = v }
        guard minimum.isFinite else { for j in 0..<p.count { p[j] = 0 }; return }
        let target = log(perplexity)
        var beta = 1.0, low = -Double.infinity, high = Double.infinity
        // Start near the data's scale: distances are shifted by their minimum, which leaves the entropy unchanged.
        var spread = 0.0, finite = 0
        for v in distances where v.isFinite { spread += v - minimum; finite += 1 }
        if spread > 0 { beta = Double(finite) / spread }
        for _ in 0..<200 {
            var sum = 0.0, weighted = 0.0
            for j in 0..<distances.count {
                let shifted = distances[j] - minimum
                let e = shifted.isFinite ? exp(-beta * shifted) : 0
                p[j] = e
                sum += e
                weighted += e * (shifted.isFinite ? shifted : 0)
            }
            let entropy = log(sum) + beta * weighted / sum
            let difference = entropy - target
            if abs(difference) < 1e-5 { break }
            if difference > 0 {
                low = beta
                beta = high.isFinite ? (beta + high) / 2 : beta * 2
            } else {
                high = beta
                beta = low.isFinite ? (beta + low) / 2 : beta / 2
            }
        }
        var sum = 0.0
        for j in 0..<p.count { sum += p[j] }
        let scale = sum > 0 ? 1 / sum : 0
        for j in 0..<p.count { p[j] *= scale }
    }
}

/// A bounded max-heap of (distance, index) pairs: the k nearest seen so far, farthest on top.
enum MaxHeap {
    @inline(__always)
    static func push(_ d: Double, _ i: Int32, distances h: UnsafeMutableBufferPointer<Double>,
                     indices x: UnsafeMutableBufferPointer<Int32>, size: inout Int) {
        var c = size
        size += 1
        while c > 0 {
            let parent = (c - 1) / 2
            if h[parent] >= d { break }
            h[c] = h[parent]; x[c] = x[parent]
            c = parent
        }
        h[c] = d; x[c] = i
    }

    @inline(__always)
    static func replaceTop(_ d: Double, _ i: Int32, distances h: UnsafeMutableBufferPointer<Double>,
                           indices x: UnsafeMutableBufferPointer<Int32>, size: Int) {
        var c = 0
        while true {
            let l = 2 * c + 1
            if l >= size { break }
            var larger = l
            if l + 1 < size && h[l + 1] > h[l] { larger = l + 1 }
            if h[larger] <= d { break }
            h[c] = h[larger]; x[c] = x[larger]
            c = larger
        }
        h[c] = d; x[c] = i
    }
}
