import ArgumentParser
import Backends
import Benchmarking
import CPUBackend
import Compute
import AimCLR
import Foundation
import OpenCLBackend

/// `aimclr bench ops|step`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the op catalogue or a whole training step on each device.",
        subcommands: [BenchOpsCommand.self, BenchStepCommand.self])
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
    @Flag(help: "Run the selected ops round-robin, one run of each per round, so that drifting machine speed affects them alike.")
    var interleave = false
    @Option(help: "Append JSON lines to this file.") var json: String = "bench-ops.jsonl"

    func run() throws {
        // Selecting the CPU backend's OpenBLAS kernels first, so the raw OpenBLAS reference row
        // runs the same kernels as the engine.
        print("BLAS: \(CPUDevice.blasDescription)")
        print("Measuring the CPU's fp32 FMA peak...")
        let peak = CPUInfo.measureFMAPeakGFLOPS(seconds: 1.0)
        print(String(format: "CPU fp32 FMA peak: %.1f GFLOP/s (%d cores, %@); CPU kernels: %@", peak, CPUInfo.cores, CPUInfo.fmaPath,
                     CPUKernelPath.current.description))
        var bench = OpBenchmark(cpuPeakGFLOPS: peak)
        bench.runs = runs; bench.warmup = warmup; bench.batch = batch; bench.filter = filter
        bench.interleave = interleave
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

struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time whole pretraining iterations (batch 128, queue 32768) and eval-mode inference.",
        discussion: "Prints median/min/max seconds per iteration, GFLOP/s (1.10 TFLOP per batch-128 iteration), "
            + "fraction of the measured CPU peak, peak and per-iteration RSS, inference samples/s, and the per-op "
            + "breakdown from the engine's profiler. Compare with Benchmarks/pytorch_reference.py (make bench-compare).")

    @Option(help: "Devices: all | auto | cpu | opencl | opencl:N.") var device: String = "cpu"
    @Option(help: "CPU threads for the CPU backend.") var threads: Int?
    @Option(help: "Timed iterations (after warm-up).") var runs: Int = 5
    @Option(help: "Untimed warm-up iterations (continued until at least one second has passed, for GPU clocks to ramp up).") var warmup: Int = 1
    @Option(help: "Batch size (samples; two persons each).") var batch: Int = 128
    @Option(name: .customLong("queue-size"), help: "MoCo queue length.") var queueSize: Int = 32768
    @Flag(help: "Print the per-op breakdown.") var profile = false
    @Flag(name: .customLong("profile-kernels"), help: "With --profile on OpenCL: one row per kernel of each op (op/kernel).")
    var profileKernels = false
    @Flag(name: .customLong("inference-only"), help: "Time eval-mode inference only (no pretraining iterations).")
    var inferenceOnly = false
    @Flag(name: .customLong("keep-columns"), inversion: .prefixedNo,
          help: "Keep each temporal convolution's im2col from forward to backward (about 2.4 GB more per trainable view) instead of rebuilding it. Default: kept on OpenCL GPUs with at least 16 GiB, rebuilt elsewhere.")
    var keepColumns: Bool? = nil
    @Option(help: "Append a JSON line to this file.") var json: String = "bench-step.jsonl"

    func run() throws {
        let peak = CPUInfo.measureFMAPeakGFLOPS(seconds: 1.0)
        print(String(format: "CPU fp32 FMA peak: %.1f GFLOP/s (%d cores, %@); CPU kernels: %@", peak, CPUInfo.cores, CPUInfo.fmaPath,
                     CPUKernelPath.current.description))
        var bench = StepBenchmark(cpuPeakGFLOPS: peak)
        bench.runs = runs; bench.warmup = warmup; bench.batch = batch; bench.queueSize = queueSize
        bench.keepTemporalColumns = keepColumns
        bench.inferenceOnly = inferenceOnly
        let out = try JSONLinesWriter(path: json)
        let reporter = ProgressReporter()
        for (label, d) in try benchmarkDevices(device, threads: threads) {
            d.profilingEnabled = profile
            (d as? OpenCLDevice)?.profileKernels = profileKernels
            if !inferenceOnly {
                var probe = PretrainConfig()
                probe.keepTemporalColumns = keepColumns
                print("\(label): temporal-conv columns "
                      + (probe.keepsTemporalColumns(on: d) ? "kept from forward to backward" : "rebuilt in the backward"))
            }
            let (r, timings, inferenceTimings) = try bench.run(on: d, label: label) {
                reporter.update("\(label): \($0)", force: true)
            }
            if inferenceOnly {
                reporter.finish(String(format: "%@: inference %.1f samples/s (median of %d batches of %d), peak RSS %.2f GiB",
                                       label, r.inferenceSamplesPerSecond, bench.inferenceBatches, r.batch,
                                       Double(r.peakRSSBytes) / 1_073_741_824))
            } else {
                reporter.finish(String(format: "%@: median %.3f s/iteration (min %.3f, max %.3f, %d runs), %.1f GFLOP/s, %.0f%% of CPU peak, peak RSS %.2f GiB (RSS %.2f -> %.2f GiB over the timed runs), inference %.1f samples/s",
                                   label, r.medianSeconds, r.minSeconds, r.maxSeconds, r.runs, r.gflops, 100 * r.fractionOfCPUPeak,
                                   Double(r.peakRSSBytes) / 1_073_741_824, Double(r.residentAfterWarmup) / 1_073_741_824,
                                   Double(r.residentAtEnd) / 1_073_741_824, r.inferenceSamplesPerSecond))
            }
            out.write(r)
            if profile {
                if !inferenceOnly {
                    print("training iterations (\(r.runs)):")
                    printProfile(timings)
                }
                print("eval-mode inference (\(bench.inferenceBatches) batches of \(r.batch)):")
                printProfile(inferenceTimings)
            }
        }
    }
}
