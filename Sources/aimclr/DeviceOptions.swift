import ArgumentParser
import Backends
import Compute
import DataParallel
import Foundation
import MPIRuntime
import OpenCLBackend

/// `--device` and `--threads`, shared by every verb that computes.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: """
        Compute device: auto | cpu | gpu | opencl | opencl:N | opencl:N,M,... (see `aimclr devices`). \
        Under mpirun, rank r takes the GPU (or OpenCL device) number local_rank, or entry local_rank of an opencl:N,M,... list.
        """)
    var device: String = "auto"

    @Option(name: .long, parsing: .unconditional, help: "CPU threads for the CPU backend (default: all cores; under mpirun, the cores divided by the ranks on the host).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 || t > 4096 { throw CommandFailure("--threads must be in 1...4096 (got \(t))") }
        if device.contains(",") { _ = try deviceList() }
    }

    /// The indices of an `opencl:N,M,...` list.
    func deviceList() throws -> [Int] {
        let text = device.lowercased()
        guard text.hasPrefix("opencl:") else {
            throw CommandFailure("--device \(device): a device list is written opencl:N,M,...")
        }
        let items = text.dropFirst("opencl:".count).split(separator: ",", omittingEmptySubsequences: false)
        let indices = items.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard indices.count == items.count, indices.allSatisfy({ $0 >= 0 }) else {
            throw CommandFailure("--device \(device): expected opencl:N,M,... with device numbers (see `aimclr devices`)")
        }
        return indices
    }

    /// The device of a verb that runs as one process (`train`, `demo`; the others take `makeDevice(rank:)`).
    func makeDevice() throws -> Device {
        if let n = Launch.launcherWorldSize(), n > 1 {
            throw CommandFailure("this command runs as one process; only `aimclr pretrain`, `finetune`, `linear`, `knn`, `embed` and `bench step` are data-parallel under mpirun "
                + "(got \(n) ranks): run it without mpirun")
        }
        return try makeDevice(rank: SingleProcess())
    }

    /// The device of one rank: a list entry or the local_rank-th GPU / OpenCL device when several
    /// ranks share a host, and the host's cores shared out on the CPU backend.
    func makeDevice(rank collective: Collective) throws -> Device {
        let local = collective.localRank, onHost = max(collective.localSize, 1)
        var spec = device
        if device.contains(",") {
            let list = try deviceList()
            spec = "opencl:\(list[local % list.count])"
        } else if onHost > 1 {
            let lower = device.lowercased()
            let all = OpenCLRuntime.devices()
            let gpus = all.filter { $0.kind == .openCLGPU }
            if (lower == "gpu" || lower == "auto"), !gpus.isEmpty {
                spec = "opencl:\(gpus[local % gpus.count].index)"
            } else if lower == "opencl" || lower == "cl", !all.isEmpty {
                spec = "opencl:\(all[local % all.count].index)"
            }
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let cpuThreads = threads ?? (onHost > 1 ? max(1, cores / onHost) : nil)
        do {
            return try DeviceSelector.make(spec, cpuThreads: cpuThreads)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
