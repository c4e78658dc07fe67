import ArgumentParser
import Backends
import Compute

/// `--device` and `--threads`, shared by every verb that computes.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "Compute device: auto | cpu | gpu | opencl | opencl:N (see `aimclr devices`).")
    var device: String = "auto"

    @Option(name: .long, parsing: .unconditional, help: "CPU threads for the CPU backend (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 || t > 4096 { throw CommandFailure("--threads must be in 1...4096 (got \(t))") }
    }

    func makeDevice() throws -> Device {
        do {
            return try DeviceSelector.make(device, cpuThreads: threads)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
