import Compute
import DataParallel
import Foundation
import NN
import Skeleton

/// What `aimclr embed` writes per sample.
public enum EmbeddingOutput: String, CaseIterable, Sendable {
    /// The pooled representation (N, hiddenDim) — what the evaluation protocols use.
    case representation
    /// The pretraining projection head's output (N, featureDim); needs `encoder_q.fc.0/2.*`.
    case projection
    /// A classifier's logits (N, classes); needs a classifier checkpoint (`fc.weight`).
    case logits
}

/// Runs an encoder in eval mode over an (N, C, T, V, M) array.
public enum Embedder {
    public static func embed(weights path: String, data: NpyArray, output: EmbeddingOutput, stream: SkeletonStream,
                             layout: SkeletonLayout, device: Device, batchSize: Int = 128,
                             progress: ProgressReporter? = nil,
                             collective: Collective = SingleProcess()) throws -> (values: [Float], dimension: Int) {
        let count = data.shape.first ?? 0
        let set = try EvaluationSet(positions: data, labels: [Int](repeating: 0, count: count),
                                    names: (0..<count).map(String.init), source: data.source)
        try set.requireJoints(of: layout)
        let tensors = try EncoderLoader.readTensors(path: path)
        let prefix = try EncoderLoader.encoderPrefix(tensors, file: path)
        let shape = try EncoderLoader.inferShape(tensors, prefix: prefix, joints: layout.jointCount, file: path)
        var config = EncoderLoader.config(shape: shape, layout: layout, numClass: 1)
        switch output {
        case .representation:
            config.head = .none
        case .projection:
            // fc.1 is the hidden batch norm of a `--projector-bn` head; its second linear is then fc.3.
            let normed = tensors[prefix + "fc.1.weight"] != nil
            let secondName = prefix + (normed ? "fc.3.weight" : "fc.2.weight")
            guard let first = tensors[prefix + "fc.0.weight"], let second = tensors[secondName] else {
                throw EvaluationError.checkpoint(file: path, detail: "no projection head ('\(prefix)fc.0.weight', '\(secondName)')")
            }
            config.head = .projection(hidden: first.shape[0], out: second.shape[0])
            config.projectionBatchNorm = normed
        case .logits:
            guard let fc = tensors[prefix + "fc.weight"], fc.shape.count == 2 else {
                throw EvaluationError.checkpoint(file: path, detail: "no classifier head ('\(prefix)fc.weight'); use --output representation")
            }
            config.head = .classifier(numClass: fc.shape[0])
        }
        let encoder = try STGCN(config: config, device: device, seed: 0)
        do {
            try encoder.importState(tensors, prefix: prefix, includeHead: output != .representation, strict: true)
        } catch {
            throw EvaluationError.checkpoint(file: path, detail: "encoder does not load: \(error)")
        }
        let extractor = FeatureExtractor(encoder: encoder, batchSize: batchSize, stream: stream, layout: layout,
                                         progress: progress)
        extractor.collective = collective
        let features = output == .representation ? try extractor.representations(of: set, label: "embedding")
                                                 : try extractor.logits(of: set, label: "embedding")
        return (features.values, features.dimension)
    }
}
