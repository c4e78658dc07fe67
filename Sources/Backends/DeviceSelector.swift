import Compute
import CPUBackend
import OpenCLBackend
import Foundation

/// Turns a `DeviceSpec` into a live device.
///
/// `auto` takes the first OpenCL **GPU** and otherwise the CPU backend; a CPU OpenCL driver
/// (pocl) is used only when asked for by index. With no OpenCL platform at all everything
/// still runs on the CPU backend, and `notice` says so once.
public enum DeviceSelector {
    /// One line for the user when the choice was not what they might expect (printed by the CLI).
    public nonisolated(unsafe) static var notice: ((String) -> Void) = { line in
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }

    public static func make(_ spec: DeviceSpec, cpuThreads: Int? = nil) throws -> Device {
        if let bad = CPUKernelPath.invalidEnvironmentSetting {
            throw DeviceError.unavailable("AIMCLR_CPU_ISA=\(bad) names no CPU kernel path (expected portable, avx2 or avx512)")
        }
        switch spec {
        case .cpu:
            return CPUDevice(threads: cpuThreads)
        case .openCL(let index):
            let all = OpenCLRuntime.devices()
            guard !all.isEmpty else {
                throw DeviceError.unavailable("no OpenCL platform found (is an ICD installed under /etc/OpenCL/vendors?)")
            }
            guard index < all.count else {
                throw DeviceError.unavailable("OpenCL device \(index) does not exist; \(all.count) found (see `aimclr devices`)")
            }
            return try OpenCLDevice(index: index)
        case .gpu:
            let all = OpenCLRuntime.devices()
            guard let gpu = all.first(where: { $0.kind == .openCLGPU }) else {
                let others = all.map { "opencl:\($0.index) \($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")
                throw DeviceError.unavailable("no OpenCL GPU found" + (others.isEmpty ? "" : "; only \(others), which runs on the CPU")
                                              + "; use --device cpu" + (others.isEmpty ? "" : " or name the device with --device opencl:N"))
            }
            return try OpenCLDevice(index: gpu.index)
        case .auto:
            let all = OpenCLRuntime.devices()
            if all.isEmpty {
                notice("note: no OpenCL platform found; running on the CPU backend")
                return CPUDevice(threads: cpuThreads)
            }
            guard let gpu = all.first(where: { $0.kind == .openCLGPU }) else {
                return CPUDevice(threads: cpuThreads)
            }
            do {
                return try OpenCLDevice(index: gpu.index)
            } catch {
                notice("note: OpenCL GPU '\(gpu.name)' could not be initialised (\(error)); falling back to the CPU backend")
                return CPUDevice(threads: cpuThreads)
            }
        }
    }

    /// Parses and creates in one step.
    public static func make(_ text: String, cpuThreads: Int? = nil) throws -> Device {
        try make(DeviceSpec(parsing: text), cpuThreads: cpuThreads)
    }

    /// Every usable device: the CPU backend first, then each OpenCL device (for benchmarks).
    public static func allSpecs() -> [DeviceSpec] {
        [.cpu] + OpenCLRuntime.devices().map { DeviceSpec.openCL(index: $0.index) }
    }
}
