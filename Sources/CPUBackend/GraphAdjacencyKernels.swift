import CPUKernels

/// When the graph convolution's adjacency products (the (rows, V)·(V, V) multiplications and
/// their ∂L/∂Â reductions) run as vector kernels (AVX-512 or AVX2) instead of OpenBLAS.
///
/// With n = k = V = 25 an OpenBLAS SGEMM reaches about 45 GFLOP/s per core; the kernels keep a
/// 12-row output tile in registers and stream the adjacency (see graph_mix.c).
public struct GraphAdjacencyKernels: Sendable, Equatable {
    /// Off: OpenBLAS for every adjacency product.
    public var enabled: Bool
    /// ∂L/∂Â sums at least this many rows per worker (each worker adds a V×V partial).
    public var minimumRowsPerWorker: Int

    public init(enabled: Bool = CPUKernelPath.current != .portable, minimumRowsPerWorker: Int = 4096) {
        self.enabled = enabled && GraphAdjacencyKernels.supported
        self.minimumRowsPerWorker = max(1, minimumRowsPerWorker)
    }

    /// Whether this CPU has a vector path for the kernels (AVX-512F or AVX2+FMA).
    public static var supported: Bool { CPUKernelPath.best != .portable }

    public func applies(joints: Int) -> Bool { enabled && joints >= 1 && joints <= Int(AIMCLR_GRAPH_MAX_JOINTS) }
}
