import AimCLR
import Compute
import DataParallel
import Foundation
import Skeleton

/// Times whole AimCLR pretraining iterations (spec §4.3) and eval-mode inference on one device,
/// on random views of the reference shape (B, 3, 50, 25, 2).
public struct StepBenchmark {
    public var batch = 128
    public var warmup = 1
    /// Warm-up continues past `warmup` iterations until this long has passed (at most 100).
    public var minimumWarmupSeconds = 1.0
    public var runs = 5
    public var queueSize = 32768
    public var inferenceBatches = 5
    /// Skip the pretraining iterations and time eval-mode inference only.
    public var inferenceOnly = false
    /// Keep the temporal convolutions' im2col from forward to backward (speed for memory).
    /// nil: the pretraining default for the device (`PretrainConfig.keepsTemporalColumns(on:)`).
    public var keepTemporalColumns: Bool? = nil
    /// Width of blocks 1-4 (16 in the reference); a smaller encoder for quick data-parallel figures.
    public var hiddenChannels = 16
    public var cpuPeakGFLOPS: Double
    /// The ranks of an `mpirun` job: `batch` stays the global batch, each rank steps on its slice
    /// of it, and the result adds the time inside collectives and the bytes sent per iteration.
    public var collective: Collective = SingleProcess()

    public init(cpuPeakGFLOPS: Double) { self.cpuPeakGFLOPS = cpuPeakGFLOPS }

    public struct Result: Codable, Sendable {
        public var device: String
        public var batch: Int
        public var runs: Int
        public var medianSeconds: Double
        public var minSeconds: Double
        public var maxSeconds: Double
        public var gflops: Double
        public var fractionOfCPUPeak: Double
        public var peakRSSBytes: Int
        public var inferenceSamplesPerSecond: Double
        /// RSS after the warm-up and after the last iteration (no growth expected).
        public var residentAfterWarmup: Int
        public var residentAtEnd: Int
        /// Ranks of the job, and this rank's time inside collectives, bytes sent and collective
        /// calls per timed iteration (zero on one process).
        public var ranks: Int = 1
        public var communicationSecondsPerIteration: Double = 0
        public var bytesSentPerIteration: Double = 0
        public var collectivesPerIteration: Double = 0
    }

    /// Forward FLOPs of one view of `batch` samples (two persons each), times 7: the query and
    /// extreme views forward + backward (3x forward each), the key view forward.
    public static func iterationFLOPs(batch: Int, hidden: Int = 16, hiddenDim: Int = 256, frames: Int = 50, joints: Int = 25) -> Double {
        let h = hidden
        let spec: [(Int, Int, Int, Bool)] = [(3, h, 1, false), (h, h, 1, true), (h, h, 1, true), (h, h, 1, true),
                                              (h, 2 * h, 2, true), (2 * h, 2 * h, 1, true), (2 * h, 2 * h, 1, true),
                                              (2 * h, 4 * h, 2, true), (4 * h, 4 * h, 1, true), (4 * h, hiddenDim, 1, true)]
        var t = frames
        var flops = 0.0
        for (ci, co, s, residual) in spec {
            let to = (t - 1) / s + 1
            flops += 2.0 * Double(ci * 3 * co * t * joints) + 2.0 * Double(3 * co * t * joints * joints)
                + 2.0 * Double(co * co * 9 * to * joints)
            if residual && !(ci == co && s == 1) { flops += 2.0 * Double(ci * co * to * joints) }
            t = to
        }
        return 7 * flops * Double(batch * 2)
    }

    /// Returns the timings and the per-op profiles of the timed iterations and of the inference
    /// batches (empty unless profiling is on).
    public func run(on device: Device, label: String,
                    progress: (String) -> Void) throws -> (Result, [OpTiming], inference: [OpTiming]) {
        var config = PretrainConfig()
        config.batchSize = batch
        config.queueSize = queueSize
        config.keepTemporalColumns = keepTemporalColumns
        config.hiddenChannels = hiddenChannels
        let layout = SkeletonLayout.ntuRGBD
        let model = try AimCLRModel(config: config, device: device, adjacency: SpatialGraph(layout: layout).adjacency,
                                    joints: 25, frames: 50, persons: 2, collective: collective)
        // This rank's slice of the global batch's random views (the whole batch on one process).
        let perSample = 3 * 50 * 25 * 2, local = model.localBatch
        let first = collective.rank * local * perSample
        func randomView(_ stream: UInt32) -> [Float] {
            let key = RandomKey(seed: 1, stream: stream, step: 0)
            return (first..<(first + local * perSample)).map { 0.3 * key.gaussian($0) }
        }
        let views = PretrainViews(extreme: randomView(1), query: randomView(2), key: randomView(3))
        let warmup = inferenceOnly ? 0 : self.warmup
        let runs = inferenceOnly ? 0 : self.runs
        // At least `warmup` iterations and, when that is quicker, at least `minimumWarmupSeconds`:
        // a GPU's clocks ramp up over the first second (one warm-up iteration left an H100's
        // first timed runs about 10 % slow).
        let warmupStart = monotonicSeconds()
        var warmed = 0
        while warmed < warmup || (warmup > 0 && warmed < 100 && monotonicSeconds() - warmupStart < minimumWarmupSeconds) {
            progress("warm-up iteration \(warmed + 1)" + (warmed < warmup ? "/\(warmup)" : ""))
            try model.step(views, epoch: 1)
            device.synchronize()
            warmed += 1
        }
        let afterWarmup = currentResidentBytes()
        device.resetProfile()
        let trafficBefore = collective.traffic
        var samples: [Double] = []
        for i in 0..<runs {
            let start = monotonicSeconds()
            try model.step(views, epoch: 1)
            device.synchronize()
            samples.append(monotonicSeconds() - start)
            progress(String(format: "iteration %d/%d: %.3f s", i + 1, runs, samples.last!))
        }
        let stats = samples.isEmpty ? TimingStats(seconds: [0]) : TimingStats(seconds: samples)
        let traffic = collective.traffic, perRun = 1 / Double(max(runs, 1))
        let atEnd = currentResidentBytes()
        let profile = device.profile()

        // Eval-mode inference of the query encoder's backbone + pooling on the query view.
        let context = try model.encoderQ.makeContext(samples: local, frames: 50, persons: 2, requiresGrad: false)
        views.query.withUnsafeBufferPointer { device.upload($0, to: context.input) }
        try model.encoderQ.forward(context.input, context: context, training: false)
        device.synchronize()
        device.resetProfile()
        var batchSeconds: [Double] = []
        for _ in 0..<max(inferenceBatches, 1) {
            let start = monotonicSeconds()
            try model.encoderQ.forward(context.input, context: context, training: false)
            device.synchronize()
            batchSeconds.append(monotonicSeconds() - start)
        }
        // The median batch: one slow batch (the machine's other load) does not move the figure.
        let inference = Double(local) / TimingStats(seconds: batchSeconds).median
        let inferenceProfile = device.profile()

        // Inference-only runs report no iteration rate (zeros in the training fields).
        // This rank's share of the FLOPs: the GFLOP/s and peak fraction are per rank.
        let flops = stats.median > 0 ? Self.iterationFLOPs(batch: local, hidden: hiddenChannels) : 0
        var result = Result(device: label, batch: batch, runs: runs, medianSeconds: stats.median, minSeconds: stats.min,
                            maxSeconds: stats.max, gflops: stats.median > 0 ? flops / stats.median / 1e9 : 0,
                            fractionOfCPUPeak: stats.median > 0 ? flops / stats.median / 1e9 / cpuPeakGFLOPS : 0,
                            peakRSSBytes: peakResidentBytes(),
                            inferenceSamplesPerSecond: inference, residentAfterWarmup: afterWarmup, residentAtEnd: atEnd)
        result.ranks = collective.size
        result.communicationSecondsPerIteration = (traffic.seconds - trafficBefore.seconds) * perRun
        result.bytesSentPerIteration = Double(traffic.bytes - trafficBefore.bytes) * perRun
        result.collectivesPerIteration = Double(traffic.calls - trafficBefore.calls) * perRun
        return (result, profile, inferenceProfile)
    }
}

/// Current resident set size in bytes (from /proc/self/statm).
public func currentResidentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ").compactMap { Int($0) }
    return fields.count > 1 ? fields[1] * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}
