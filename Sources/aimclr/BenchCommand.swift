import ArgumentParser
import Backends
import Benchmarking
import CPUBackend
import Compute
import AimCLR
import Foundation

/// `aimclr bench ops|step`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the op catalogue or a whole training step on each device.",
        subcommands: [BenchOpsCommand.self])
}

/// Which devices a benchmark runs on: one spec, or `all`.
func benchmarkDevices(_ text: String, threads: Int?) throws -> [(label: String, device: Device)] {
    let specs: [DeviceSpec] = text == "all" ? DeviceSelector.allSpecs() : [try DeviceSpec(parsing: text)]
    return try specs.map { spec in
        let d = try DeviceSelector.make(spec, cpuThreads: threads)
        return (spec.description, d)
    }
}

struct BenchOpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time every op at the shapes of one batch-128 pretraining iteration (median/min/max).")

    @Option(help: "Devices: all | auto | cpu | opencl | opencl:N.") var device: String = "all"
    @Option(help: "CPU threads for the CPU backend.") var threads: Int?
    @Option(help: "Timed runs per op (after warm-up).") var runs: Int = 5
    @Option(help: "Untimed warm-up runs per op.") var warmup: Int = 1
    @Option(help: "Batch size (samples; two persons each).") var batch: Int = 128
    @Option(help: "Only ops whose name contains this text.") var filter: String?
    @Option(help: "Append JSON lines to this file.") var json: String = "bench-ops.jsonl"

    func run() throws {
        print("Measuring the CPU's fp32 FMA peak...")
        let peak = CPUInfo.measureFMAPeakGFLOPS(seconds: 1.0)
        print(String(format: "CPU fp32 FMA peak: %.1f GFLOP/s (%d cores, %@)", peak, CPUInfo.cores, CPUInfo.fmaPath))
        var bench = OpBenchmark(cpuPeakGFLOPS: peak)
        bench.runs = runs; bench.warmup = warmup; bench.batch = batch; bench.filter = filter
        let out = try JSONLinesWriter(path: json)
        print(BenchmarkTable.header())
        let emit: (OpBenchmarkRow) -> Void = { row in
            print(BenchmarkTable.line(row))
            out.write(row)
        }
        if filter == nil || "sgemm".contains(filter!) {
            emit(bench.rawOpenBLASReference())
        }
        for (label, device) in try benchmarkDevices(device, threads: threads) {
            try bench.run(on: device, deviceLabel: label, emit: emit)
        }
        print("JSON lines appended to \(json)")
    }
}
