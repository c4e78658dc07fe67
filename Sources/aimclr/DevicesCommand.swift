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
        }
    }
}
