import CPUKernels
import Compute

/// When the stride-1 temporal convolution runs as a direct (implicit-GEMM) AVX-512 kernel
/// instead of im2col + OpenBLAS.
///
/// With few channels the im2col GEMM is bound by building and packing its columns (each column
/// element feeds only 2·Cout flops); the direct kernel reads the input in place, shifted by
/// whole frames, and keeps 8 output channels × 48 positions in registers.
public struct DirectTemporalConvolution: Sendable, Equatable {
    /// Off: always im2col + GEMM.
    public var enabled: Bool
    /// Layers with more input or output channels than this keep im2col + GEMM.
    public var maximumChannels: Int
    /// The weight gradient walks the batch in blocks of samples whose input and output-gradient
    /// planes take about this many bytes (so they stay in the L2 cache together).
    public var gradientBlockBytes: Int

    public init(enabled: Bool = DirectTemporalConvolution.supported, maximumChannels: Int = 64,
                gradientBlockBytes: Int = 1 << 20) {
        self.enabled = enabled && DirectTemporalConvolution.supported
        self.maximumChannels = maximumChannels
        self.gradientBlockBytes = gradientBlockBytes
    }

    /// Whether this CPU runs the kernels (AVX-512F).
    public static let supported: Bool = aimclr_avx512_available() != 0

    public func applies(stride: Int, kernel: Int, input: ActivationShape, outputChannels: Int) -> Bool {
        enabled && stride == 1 && kernel <= Int(AIMCLR_DIRECT_MAX_KERNEL)
            && max(input.channels, outputChannels) <= maximumChannels
            && input.frames * input.joints <= Int(Int32.max) / 2 && input.batch <= Int(Int32.max)
    }
}

extension CPUDevice {
    /// y = conv(x) + bias with the direct kernel; each worker owns whole samples.
    func temporalConvForwardDirect(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, bias: Tensor,
                                   y: Tensor, cout: Int) {
        let cin = input.channels, plane = input.frames * input.joints
        let packed = packedWeightScratch.floats(aimclr_tconv_packed_count(Int32(cout), Int32(cin), Int32(kernel)))
        aimclr_tconv_pack_weight(weight.cpuPointer, Int32(cout), Int32(cin), Int32(kernel), 0, packed)
        let px = x.cpuPointer, pb = bias.cpuPointer, py = y.cpuPointer
        measure("temporalConvForward", flops: 2 * Double(cout * cin * kernel) * Double(input.plane)) {
            parallelChunks(input.batch, threads: threads) { _, samples in
                aimclr_tconv_direct(px, Int32(cin), Int32(input.batch), Int32(plane), Int32(input.joints), Int32(kernel),
                                    packed, Int32(cout), pb, 1, py, Int32(samples.lowerBound), Int32(samples.upperBound))
            }
        }
    }

    /// Bias, weight and input gradients with the direct kernels: dW from per-worker partials
    /// summed in worker order (deterministic for a thread count); dx as the convolution of dy
    /// with the transposed, time-flipped weight.
    func temporalConvBackwardDirect(x: Tensor, input: ActivationShape, kernel: Int, weight: Tensor, dy: Tensor,
                                    dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor, cout: Int) {
        let cin = input.channels, plane = input.frames * input.joints, weights = cout * cin * kernel
        let px = x.cpuPointer, pw = weight.cpuPointer, pdy = dy.cpuPointer
        let pdw = dWeight.cpuPointer, pdb = dBias.cpuPointer, pdx = dx?.cpuPointer
        let workers = min(threads, input.batch)
        let partials = columnScratch.floats(workers * weights)
        let packedCount = Int(aimclr_tconv_packed_count(Int32(cin), Int32(cout), Int32(kernel)))
        let packed = packedWeightScratch.floats(packedCount)
        aimclr_tconv_pack_weight(pw, Int32(cin), Int32(cout), Int32(kernel), 1, packed)
        measure("temporalConvBackward", flops: 2 * Double(weights) * Double(input.plane) * (dx == nil ? 1 : 2)) {
            rowSums(pdy, rows: cout, cols: input.plane, into: pdb, threads: threads)
            parallelChunks(input.batch, threads: workers) { worker, samples in
                let part = partials + worker * weights
                part.update(repeating: 0, count: weights)
                aimclr_tconv_weight_grad(px, Int32(cin), pdy, Int32(cout), Int32(input.batch), Int32(plane),
                                         Int32(input.joints), Int32(kernel), part,
                                         Int32(samples.lowerBound), Int32(samples.upperBound),
                                         directTemporalConvolution.gradientBlockBytes)
                guard let pdx else { return }
                aimclr_tconv_direct(pdy, Int32(cout), Int32(input.batch), Int32(plane), Int32(input.joints),
                                    Int32(kernel), packed, Int32(cin), nil, accumulate ? 2 : 0, pdx,
                                    Int32(samples.lowerBound), Int32(samples.upperBound))
            }
            pdw.update(from: partials, count: weights)
            for w in 1 ..< max(workers, 1) {
                let part = partials + w * weights
                for j in 0 ..< weights { pdw[j] += part[j] }
            }
        }
    }
}
