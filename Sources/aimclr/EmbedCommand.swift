import AimCLR
import ArgumentParser
import DataParallel
import Foundation
import Skeleton

/// `aimclr embed`: representations (or projections, or logits) of an (N, 3, T, V, M) array.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Run an encoder in eval mode over an (N, C, T, V, M) .npy array and write its outputs as .npy.",
        discussion: "--checkpoint (also spelled --weights) takes a pretraining checkpoint (encoder_q.*), a classifier checkpoint, or a PyTorch .pt. "
            + "representation: the 256-d pooled features (N, 256); projection: the pretraining MLP's output (N, 128); "
            + "logits: a classifier's outputs (N, classes).")

    @OptionGroup var deviceOptions: DeviceOptions
    /// `--checkpoint` as in linear, knn and finetune; `--weights` still works.
    @Option(name: [.customLong("checkpoint"), .customLong("weights")],
            help: "Checkpoint or weights (.safetensors or .pt); --weights is the older name.") var weights: String
    @Option(help: "Input array (N, C, T, V, M), float32 or float64.") var data: String
    @Option(help: "Output .npy file (float32).") var out: String
    @Option(help: "What to write per sample.") var output: EmbeddingOutput = .representation
    @Option(help: "Input stream (motion and bone computed on the fly).") var stream: SkeletonStream = .joint
    @Option(help: "Skeleton layout: ntu-rgb+d | kinect-v1 | openpose | a layout JSON file.") var layout: String = "ntu-rgb+d"
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Samples per forward pass.") var batchSize: Int = 128

    func validate() throws {
        guard batchSize > 0, batchSize <= 1 << 16 else { throw CommandFailure("--batch-size must be in 1...\(1 << 16) (got \(batchSize))") }
        try OutputLocation.requireFile(out, flag: "--out")
    }

    func run() throws {
        try RankedRun.run(embed)
    }

    /// Under N ranks each encodes its share of the batches; rank 0 writes the whole array.
    func embed(_ collective: Collective) throws {
        let kind = output, s = stream
        let lead = collective.rank == 0
        let device = try deviceOptions.makeDevice(rank: collective)
        let array = try NpyArray.read(data)
        try DataScan.requireFinite(array)
        if lead, let warning = RecordedStream.mismatch(checkpoint: weights, evaluatedOn: s) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        let progress = ProgressReporter()
        progress.silent = !lead
        let (values, dim) = try Embedder.embed(weights: weights, data: array, output: kind, stream: s,
                                               layout: try SkeletonLayout.resolve(layout), device: device,
                                               batchSize: batchSize, progress: progress, collective: collective)
        guard lead else { return }
        let n = array.shape.first ?? 0
        try reportingErrors("--out \(out)") { try NpyArray(shape: [n, dim], floats: values).write(to: out) }
        progress.finish("wrote \(out): (\(n), \(dim)) \(kind.rawValue) on \(device.name)"
            + (collective.size > 1 ? " and \(collective.size - 1) more rank(s)" : ""))
    }
}
