import CBLAS
import Compute
import Foundation

/// The CPU backend: OpenBLAS for the GEMMs, tight Swift loops over raw pointers for the
/// rest, parallel over the cores through `parallelFor`.
///
/// Every op runs synchronously on the calling thread (plus workers), so `synchronize()`
/// has nothing to wait for. The device is not thread-safe: one caller at a time.
public final class CPUDevice: Device {
    /// Worker count used by our own parallel loops and by OpenBLAS (the convolutions split
    /// their GEMMs between our workers and hold OpenBLAS at one thread meanwhile).
    public let threads: Int
    public var kind: DeviceKind { .cpu }
    public var memoryBytes: Int? { nil }
    /// e.g. "cpu (2 threads, OpenBLAS 0.3.21 SkylakeX)".
    public var name: String { "cpu (\(threads) threads, \(CPUDevice.blasShortDescription))" }

    var profiler = Profiler()
    /// The first op-contract violation not yet taken (see `OpContract`).
    let errors = ErrorLatch()
    public func takeError() -> DeviceError? { errors.take() }
    /// Scratch for gradients of im2col columns and for Â = A ⊙ E; grown as needed.
    let columnScratch = Scratch()
    let adjacencyScratch = Scratch()
    /// Per-worker partial products of `sgemmLongK`.
    let reductionScratch = Scratch()
    /// Weights rearranged for the direct temporal-convolution kernels.
    let packedWeightScratch = Scratch()
    /// Â_kᵀ and per-worker partial ∂L/∂Â for the graph-convolution adjacency kernels.
    let adjacencyTransposeScratch = Scratch()
    let adjacencyGradientScratch = Scratch()
    /// Per-worker pieces of the graph convolution (forward-only, and the backward of layers that
    /// do not widen).
    let graphPieceScratch = Scratch()
    /// Floats of one worker's piece of the graph convolution (its K·C intermediate for a run of
    /// positions; sized to stay in the L2 cache).
    public var graphPieceFloats = 1 << 18
    /// True while `withSingleThreadedBLAS` holds OpenBLAS at one thread (it may nest).
    var blasPinnedToOneThread = false
    /// Dropout masks from forwards, for their backwards.
    let dropoutMasks = DropoutMaskCache()

    /// How a temporal convolution splits the batch into blocks of whole samples (see
    /// `TemporalBlocking`); exposed for tuning and so tests can force many blocks.
    public var temporalBlocking = TemporalBlocking()

    /// Which stride-1 temporal convolutions run as direct vector kernels (see
    /// `DirectTemporalConvolution`); tests switch it off to check both paths.
    public var directTemporalConvolution = DirectTemporalConvolution()

    /// Whether the graph convolution's adjacency products run as vector kernels (see
    /// `GraphAdjacencyKernels`); tests switch it off to check both paths.
    public var graphKernels = GraphAdjacencyKernels()

    /// Whether wide stride-1 temporal convolutions run their forward as shifted GEMMs (no
    /// im2col); tests switch it off to check both paths.
    public var shiftedTemporalGEMMs = true

    /// Positions per window of the shifted-GEMM temporal convolution on a frame-major view (the
    /// Cout × window output tile stays in the L2 cache across the taps).
    public var shiftedWindowColumns = 1024

    /// Whether wide stride-1 temporal convolutions on frame-major views run in the DFT domain
    /// along time (`usesSpectralTemporalConv`); tests switch it off to check both paths.
    public var spectralTemporalConv = true
    /// Positions per frame from which a view counts as frame-major for the spectral path.
    public var spectralMinimumPositions = 256
    /// Positions per window of the spectral path (its transforms and GEMMs run per window, and one
    /// window's spectra are its scratch).
    public var spectralWindowColumns = 512
    /// Pieces each frequency's GEMM of the spectral path is cut into for the workers (nil: as
    /// many as keep every worker busy; tests force several).
    public var spectralSlabsPerFrequency: Int?

    /// - Parameter threads: workers for our loops and for OpenBLAS (default: all cores).
    public init(threads: Int? = nil) {
        BLASCoreSelection.selectedOnce
        let n = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = n
        openblas_set_num_threads(Int32(n))
        // AIMCLR_CPU_KERNELS=off: OpenBLAS for every convolution (A/B timing, debugging).
        if let setting = getenv("AIMCLR_CPU_KERNELS"), String(cString: setting) == "off" {
            directTemporalConvolution.enabled = false
            graphKernels.enabled = false
            shiftedTemporalGEMMs = false
            spectralTemporalConv = false
        }
        // AIMCLR_SPECTRAL_CONV=off: the frame-major layers' temporal convolutions as shifted GEMMs.
        if let setting = getenv("AIMCLR_SPECTRAL_CONV"), String(cString: setting) == "off" {
            spectralTemporalConv = false
        }
    }

    /// OpenBLAS build, kernel set and thread count, e.g.
    /// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64 (pthread), 2 threads".
    public static var blasDescription: String {
        BLASCoreSelection.selectedOnce
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let parallel: String
        switch openblas_get_parallel() {
        case 0: parallel = "sequential"
        case 1: parallel = "pthread"
        default: parallel = "openmp"
        }
        return "\(config.trimmingCharacters(in: .whitespaces)) (\(parallel)), \(openblas_get_num_threads()) threads"
    }

    /// Library, version and kernel set, e.g. "OpenBLAS 0.3.21 SkylakeX".
    public static var blasShortDescription: String {
        BLASCoreSelection.selectedOnce
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return config.split(separator: " ").prefix(2).joined(separator: " ") + " " + core
    }

    // MARK: Memory

    public func makeTensor(_ shape: [Int]) throws -> Tensor {
        let count = try Tensor.elementCount(of: shape, maxBytes: (1 << 46) - 1, limit: "what host memory can hold")
        let bytes = count * MemoryLayout<Float>.stride
        guard let buffer = CPUBuffer(tryingCapacity: count) else {
            throw DeviceError.outOfMemory(op: "makeTensor", bytes: bytes, detail: "host allocation of shape \(shape) failed")
        }
        return Tensor(device: self, shape: shape, buffer: buffer)
    }

    public func upload(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor) {
        guard errors.check({ try OpContract.transfer("upload", count: values.count, tensor: tensor) }) != nil,
              let base = values.baseAddress, values.count > 0 else { return }
        tensor.cpuPointer.update(from: base, count: values.count)
    }

    public func download(_ tensor: Tensor, into values: UnsafeMutableBufferPointer<Float>) {
        guard errors.check({ try OpContract.transfer("download", count: values.count, tensor: tensor) }) != nil,
              let base = values.baseAddress, values.count > 0 else { return }
        base.update(from: tensor.cpuPointer, count: values.count)
    }

    public func fill(_ tensor: Tensor, value: Float) {
        let p = tensor.cpuPointer
        let n = tensor.count
        measure("fill", OpContract.fill(tensor)) {
            parallelFor(n, threads: threads, minimumPerChunk: 1 << 16) { r in
                (p + r.lowerBound).update(repeating: value, count: r.count)
            }
        }
    }

    public func copy(_ src: Tensor, srcOffset: Int, to dst: Tensor, dstOffset: Int, count: Int) {
        guard let cost = errors.check({
            try OpContract.copy(src: src, srcOffset: srcOffset, dst: dst, dstOffset: dstOffset, count: count)
        }) else { return }
        let s = src.cpuPointer + srcOffset
        let d = dst.cpuPointer + dstOffset
        measure("copy", cost) {
            // `update` is memmove-safe, so overlapping ranges of one tensor are fine.
            d.update(from: s, count: count)
        }
    }

    public func synchronize() {}

    // MARK: Profiling

    public var profilingEnabled: Bool {
        get { profiler.enabled }
        set { profiler.enabled = newValue }
    }

    public func profile() -> [OpTiming] { profiler.enabled ? profiler.sorted : [] }

    public func resetProfile() { profiler.reset() }
}
