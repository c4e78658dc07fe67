import ArgumentParser
import Compute
import OpenCLBackend

extension ComputePrecision: ExpressibleByArgument {}

/// `--precision fp32|tf32|fp16-mixed` of the verbs that train (pretrain, bench step).
struct PrecisionOption: ParsableArguments {
    @Option(help: """
        GEMM arithmetic: fp32 (default, the reference's numerics) | tf32 | fp16-mixed. tf32 and fp16-mixed need a device \
        whose tensor-core probe passed (see `aimclr devices`).
        """)
    var precision: ComputePrecision = .fp32

    /// Refuses a precision the device cannot run, naming the device and the flag. tf32 and
    /// fp16-mixed have no kernels in this build yet, so even a device that passes the probe
    /// refuses them rather than silently running fp32.
    func check(_ device: Device) throws {
        guard precision != .fp32 else { return }
        guard let cl = device as? OpenCLDevice else {
            throw CommandFailure("--precision \(precision.rawValue): \(device.name) runs fp32 only "
                                 + "(tensor-core precisions need an NVIDIA OpenCL device; see `aimclr devices`)")
        }
        if let why = cl.precisionSupport.unavailable[precision] {
            throw CommandFailure("--precision \(precision.rawValue): unavailable on \(cl.name): \(why)")
        }
        throw CommandFailure("--precision \(precision.rawValue): \(cl.name) passes the tensor-core probe, but this build "
                             + "has no \(precision.rawValue) GEMM kernels yet; use --precision fp32")
    }
}
