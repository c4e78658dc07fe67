import CPUKernels
import Compute

/// When a stride-1 temporal convolution runs as direct (implicit-GEMM) vector kernels (AVX-512 or
/// AVX2) instead of im2col + OpenBLAS.
///
/// With few channels the im2col GEMM is bound by building and packing its columns (each column
/// element feeds only 2·Cout flops); the direct kernels read the input in place, shifted by
/// whole frames, and keep 8 output channels × 48 positions in registers. Stride 2 stays on
/// im2col: splitting the input into even and odd frames turns it into two stride-1 sums, but
/// measured against im2col that was no faster (blocks 5 and 8, `AIMCLR_CPU_KERNELS=off` A/B).
public struct DirectTemporalConvolution: Sendable, Equatable {
    /// Off: always im2col + GEMM.
    public var enabled: Bool
    /// Layers with more input or output channels than this keep im2col + GEMM (the wide
    /// layer's GEMM is arithmetic-bound and OpenBLAS runs it faster).
    public var maximumChannels: Int
    /// The weight gradient walks the batch in blocks of samples whose input and output-gradient
    /// planes take about this many bytes (so they stay in the L2 cache together).
    public var gradientBlockBytes: Int

    /// AVX2 (8 lanes, 4 × 2 tiles) beats im2col + OpenBLAS up to 32 channels; at 64 (block 9,
    /// T 13) OpenBLAS's Haswell GEMM was faster: forward 64 vs 80 ms, backward 142 vs 163 ms in
    /// `bench ops` pairs (AIMCLR_CPU_KERNELS=off/on). AVX-512 keeps its edge up to 64.
    public static var defaultMaximumChannels: Int { CPUKernelPath.current == .avx512 ? 64 : 32 }

    public init(enabled: Bool = CPUKernelPath.current != .portable,
                maximumChannels: Int = DirectTemporalConvolution.defaultMaximumChannels,
                gradientBlockBytes: Int = 1 << 20) {
        self.enabled = enabled && DirectTemporalConvolution.supported
        self.maximumChannels = maximumChannels
        self.gradientBlockBytes = gradientBlockBytes
    }

    /// Whether this CPU has a vector path for the kernels (AVX-512F or AVX2+FMA); with the
    /// portable path (old CPUs, or AIMCLR_CPU_ISA=portable) im2col + OpenBLAS is faster.
    public static var supported: Bool { CPUKernelPath.best != .portable }

    public func applies(stride: Int, kernel: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        enabled && stride == 1 && kernel % 2 == 1 && kernel <= Int(AIMCLR_DIRECT_MAX_TAPS)
            && max(input.channels, outputChannels) <= maximumChannels
            && input.batch * input.frames * input.joints <= Int(Int32.max)
    }
}

extension CPUDevice {
    /// y = conv(x) + bias with the direct kernel, through `epilogue` when given (applied in
    /// registers as the sums are stored); each worker owns whole samples.
    func temporalConvForwardDirect(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, bias: Tensor,
                                   epilogue: ChannelEpilogue? = nil, y: Tensor, cout: Int) {
        let cin = input.channels, n = input.batch, plane = input.frames * input.joints
        let shifts = temporalShifts(kernel: kernel, joints: input.joints)
        let packed = packWeight(weight.cpuPointer, outChannels: cout, inChannels: cin, kernel: kernel, transpose: false)
        let px = x.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure(epilogue == nil ? "temporalConvForward" : "temporalConvInference",
                flops: 2 * Double(cout * cin * kernel) * Double(input.plane)) {
            withCEpilogue(epilogue) { pe in
                parallelChunks(n, threads: threads) { _, samples in
                    shifts.withUnsafeBufferPointer {
                        aimclr_tconv_direct(px, Int32(cin), Int32(n), Int32(plane), $0.baseAddress, Int32(kernel), packed,
                                            Int32(cout), pb, 1, pe, py,
                                            Int32(samples.lowerBound), Int32(samples.upperBound))
                    }
                }
            }
        }
    }

    /// Bias, weight and input gradients with the direct kernels: dW from per-worker partials
    /// summed in worker order (deterministic for a thread count); dx as the adjoint sum over
    /// taps (negated shifts, transposed weight).
    func temporalConvBackwardDirect(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, dy: Tensor,
                                    dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor, cout: Int) {
        let cin = input.channels, n = input.batch, plane = input.frames * input.joints
        let weights = cout * cin * kernel
        let shifts = temporalShifts(kernel: kernel, joints: input.joints)
        let adjointShifts = shifts.map { -$0 }
        let px = x.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer, pdx = dx?.cpuPointer
        let workers = min(threads, n)
        let partials = columnScratch.floats(workers * weights)
        let packed = packWeight(weight.cpuPointer, outChannels: cin, inChannels: cout, kernel: kernel, transpose: true)
        let blockBytes = directTemporalConvolution.gradientBlockBytes
        measure("temporalConvBackward", flops: 2 * Double(weights) * Double(input.plane) * (dx == nil ? 1 : 2)) {
            rowSums(pdy, rows: cout, cols: input.plane, into: pdb, threads: threads)
            parallelChunks(n, threads: workers) { worker, samples in
                let part = partials + worker * weights
                part.update(repeating: 0, count: weights)
                shifts.withUnsafeBufferPointer {
                    aimclr_tconv_weight_grad(px, Int32(cin), pdy, Int32(cout), Int32(n), Int32(plane), $0.baseAddress,
                                             Int32(kernel), part, Int32(samples.lowerBound), Int32(samples.upperBound),
                                             blockBytes)
                }
                guard let pdx else { return }
                adjointShifts.withUnsafeBufferPointer {
                    aimclr_tconv_direct(pdy, Int32(cout), Int32(n), Int32(plane), $0.baseAddress, Int32(kernel), packed,
                                        Int32(cin), nil, accumulate ? 2 : 0, nil, pdx,
                                        Int32(samples.lowerBound), Int32(samples.upperBound))
                }
            }
            sumPartials(partials, stride: weights, parts: workers, count: weights, into: pdw)
        }
    }

    /// Tap k reads frame t + k − pad: a shift of (k − pad)·V positions in the sample's plane.
    private func temporalShifts(kernel: Int, joints v: Int) -> [Int] {
        let pad = (kernel - 1) / 2
        return (0 ..< kernel).map { ($0 - pad) * v }
    }

    /// The weight packed for the kernel, in the packed-weight scratch.
    private func packWeight(_ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, kernel: Int,
                            transpose: Bool) -> UnsafePointer<Float> {
        let count = Int(aimclr_tconv_packed_count(Int32(outChannels), Int32(inChannels), Int32(kernel)))
        let p = packedWeightScratch.floats(count)
        aimclr_tconv_pack_weight(weight, Int32(outChannels), Int32(inChannels), Int32(kernel), transpose ? 1 : 0, p)
        return UnsafePointer(p)
    }
}
