/// One GEMM as the layers issue it (row-major C = op(A)·op(B), m×n, inner k).
public struct GEMMShape: Hashable, Sendable, CustomStringConvertible {
    public var transA: Bool
    public var transB: Bool
    public var m: Int
    public var n: Int
    public var k: Int
    public var description: String { "\(transA ? "T" : "N")\(transB ? "T" : "N") \(m)x\(n)x\(k)" }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// The GEMMs of one pretraining iteration (spec §2.3, the op catalogue's geometry): per ST-GCN
/// block the graph convolution's forward (3·cout × P × cin), weight gradient (3·cout × cin × P)
/// and input gradient (cin × P × 3·cout), and the 9-tap temporal convolution's im2col forward
/// (cout × Q × 9·cout), weight gradient (cout × 9·cout × Q) and column gradient (9·cout × Q × cout),
/// with P = persons·T·25 and Q = persons·T_out·25 (persons = 2·batch). See
/// OpenCLDevice+GraphConv.swift and OpenCLDevice+Convolution.swift for the calls.
public enum GEMMTuningShapes {
    struct Block { var cin: Int; var cout: Int; var stride: Int; var frames: Int }

    /// The reference encoder (hidden 16): blocks 1, 2 (×3 identical), 5, 6-7, 8, 9, 10.
    static let blocks: [Block] = [
        Block(cin: 3, cout: 16, stride: 1, frames: 50),
        Block(cin: 16, cout: 16, stride: 1, frames: 50),
        Block(cin: 16, cout: 32, stride: 2, frames: 50),
        Block(cin: 32, cout: 32, stride: 1, frames: 25),
        Block(cin: 32, cout: 64, stride: 2, frames: 25),
        Block(cin: 64, cout: 64, stride: 1, frames: 13),
        Block(cin: 64, cout: 256, stride: 1, frames: 13),
    ]

    /// Distinct shapes in issue order at `batch` samples; `quick` keeps three blocks (first,
    /// a strided middle one and the widest), enough to rank candidates on a CPU driver.
    public static func shapes(batch: Int, quick: Bool = false) -> [GEMMShape] {
        let persons = 2 * max(batch, 1), joints = 25
        let chosen = quick ? [blocks[1], blocks[4], blocks[6]] : blocks
        var seen = Set<GEMMShape>(), list: [GEMMShape] = []
        func add(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int) {
            let s = GEMMShape(transA: ta, transB: tb, m: m, n: n, k: k)
            if seen.insert(s).inserted { list.append(s) }
        }
        for b in chosen {
            let p = persons * b.frames * joints
            let q = persons * ((b.frames - 1) / b.stride + 1) * joints
            add(false, false, 3 * b.cout, p, b.cin)
            add(false, true, 3 * b.cout, b.cin, p)
            add(true, false, b.cin, p, 3 * b.cout)
            add(false, false, b.cout, q, 9 * b.cout)
            add(false, true, b.cout, 9 * b.cout, q)
            add(true, false, 9 * b.cout, q, b.cout)
        }
        return list
    }
}
