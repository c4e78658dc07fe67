import ArgumentParser
import CPUBackend
import Compute
import OpenCLBackend

/// `aimclr devices`: what the engine can run on.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the CPU backend and every OpenCL platform and device.")

    func run() throws {
        print("cpu     CPU backend: \(CPUInfo.cores) cores, BLAS: \(CPUDevice.blasDescription)")
        let paths = CPUKernelPath.supported.map(\.description).joined(separator: ", ")
        print("        CPU kernels: \(CPUKernelPath.current) (this CPU runs \(paths); AIMCLR_CPU_ISA caps it)")
        let all = OpenCLRuntime.devices()
        if all.isEmpty {
            print("(no OpenCL platform found: only the CPU backend is available)")
            return
        }
        var lastPlatform = ""
        for d in all {
            if d.platformName != lastPlatform {
                print("OpenCL platform: \(d.platformName) (\(d.platformVendor), \(d.platformVersion))")
                lastPlatform = d.platformName
            }
            let mem = Double(d.globalMemoryBytes) / 1_073_741_824
            print("opencl:\(d.index)  \(d.name)")
            print("          vendor \(d.vendor), \(d.version), driver \(d.driverVersion), kind \(d.kind.rawValue)")
            print("          \(d.computeUnits) compute units, \(String(format: "%.1f", mem)) GiB global memory, "
                  + "\(d.localMemoryBytes / 1024) KiB local, max work-group \(d.maxWorkGroupSize), fp64 \(d.supportsFP64 ? "yes" : "no")")
            // Opening the device runs the tensor-core probe and applies the tuning cache.
            do {
                let opened = try OpenCLDevice(index: d.index)
                print("          precisions: \(opened.precisionSupport.summary)")
                print("          GEMM tuning: " + Self.tuningLine(opened))
            } catch {
                print("          cannot be opened: \(error)")
            }
        }
    }

    static func tuningLine(_ d: OpenCLDevice) -> String {
        let cacheName = d.tuningCachePath ?? GEMMTuningCache.defaultPath() ?? "none (AIMCLR_TUNING_CACHE=none)"
        guard !d.appliedTuning.isEmpty else {
            return "CLBlast's defaults (no entry for this device and driver in \(cacheName); `aimclr tune --device opencl:\(d.info.index)`)"
        }
        let parts = d.appliedTuning.map { e in
            e.parameters.isEmpty ? "\(e.shapeClass): CLBlast's choice (tuned, nothing faster)"
                : String(format: "%@: tuned %.2fx", e.shapeClass, e.defaultSeconds / max(e.tunedSeconds, 1e-12))
        }
        return "cache \(cacheName) applies (" + parts.joined(separator: ", ") + ")"
    }
}
