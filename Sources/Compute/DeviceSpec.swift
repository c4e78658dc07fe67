import Foundation

/// A device request as written on the command line: `auto | cpu | gpu | opencl | opencl:N`.
public enum DeviceSpec: Equatable, Sendable, CustomStringConvertible {
    /// The first OpenCL GPU, otherwise the CPU backend.
    case auto
    case cpu
    /// The first OpenCL GPU; never a CPU OpenCL driver (pocl), which `opencl:N` still selects.
    case gpu
    /// The N-th OpenCL device over all platforms (0-based); plain `opencl` is `opencl:0`.
    case openCL(index: Int)

    public init(parsing text: String) throws {
        let t = text.lowercased().trimmingCharacters(in: .whitespaces)
        switch t {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "gpu": self = .gpu
        case "opencl", "cl": self = .openCL(index: 0)
        default:
            if t.hasPrefix("opencl:"), let n = Int(t.dropFirst("opencl:".count)), n >= 0 {
                self = .openCL(index: n)
            } else {
                throw DeviceError.unavailable("unknown device '\(text)'; expected auto, cpu, gpu, opencl or opencl:N")
            }
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .gpu: return "gpu"
        case .openCL(let i): return "opencl:\(i)"
        }
    }
}
