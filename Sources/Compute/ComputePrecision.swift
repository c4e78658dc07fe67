/// The arithmetic of the training GEMMs (`--precision`). fp32 is the reference's numerics and
/// the only one with kernels today; tf32 and fp16-mixed name NVIDIA tensor-core paths
/// (inline-PTX mma.sync) that a device must offer (see `aimclr devices`).
public enum ComputePrecision: String, CaseIterable, Codable, Sendable {
    case fp32
    /// Inputs rounded to TF32 (10-bit mantissa), fp32 accumulation.
    case tf32
    /// fp16 inputs, fp32 accumulation and fp32 master weights.
    case fp16Mixed = "fp16-mixed"
}

/// Which precisions a device runs, and for each one it does not, why.
public struct PrecisionSupport: Equatable, Sendable {
    public var supported: [ComputePrecision]
    public var unavailable: [ComputePrecision: String]

    public init(supported: [ComputePrecision], unavailable: [ComputePrecision: String]) {
        self.supported = supported
        self.unavailable = unavailable
    }

    public static func fp32Only(reason: String) -> PrecisionSupport {
        PrecisionSupport(supported: [.fp32], unavailable: [.tf32: reason, .fp16Mixed: reason])
    }

    /// "fp32; tf32 unavailable (...); fp16-mixed unavailable (...)".
    public var summary: String {
        ComputePrecision.allCases.map { p in
            supported.contains(p) ? p.rawValue : "\(p.rawValue) unavailable (\(unavailable[p] ?? "unknown"))"
        }.joined(separator: "; ")
    }
}
