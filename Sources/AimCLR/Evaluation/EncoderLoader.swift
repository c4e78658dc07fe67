import Compute
import Foundation
import NN
import Skeleton

/// Where the encoder of an evaluation comes from.
public enum EncoderSource: Sendable, Equatable {
    /// A checkpoint file: a pre-training checkpoint (`encoder_q.*` names) or a classifier
    /// checkpoint written by linear evaluation / fine-tuning (bare encoder names with `fc.*`).
    case checkpoint(path: String)
    /// No checkpoint: the reference `weights_init` drawn from `seed` (the random-encoder baseline).
    case randomInit(seed: UInt64)

    /// For result files.
    public var summary: String {
        switch self {
        case .checkpoint(let path): return path
        case .randomInit(let seed): return "random-init (seed \(seed))"
        }
    }
}

/// Encoder widths. Loading a checkpoint reads them from the tensor shapes; a random
/// encoder uses these values (the reference ones by default).
public struct EncoderShape: Sendable, Equatable, Codable {
    public var inChannels = 3
    public var hiddenChannels = 16
    public var hiddenDim = 256
    public var edgeImportance = true
    public init() {}
}

/// Builds an ST-GCN with a fresh classifier head and fills its backbone from an `EncoderSource`.
///
/// Every evaluation verb goes through here so they all accept the same inputs. Pre-training
/// checkpoints load `encoder_q.*` and ignore `encoder_q.fc*`, `encoder_k*` and `queue*`
/// (spec §5.2); classifier checkpoints load the bare names, and their `fc` too when
/// `keepClassifier` is set and the class count matches.
public enum EncoderLoader {
    /// What was loaded, for logs and result files.
    public struct Loaded {
        public let encoder: STGCN
        public let shape: EncoderShape
        /// "pretrain", "classifier" or "random".
        public let kind: String
        /// Whether the checkpoint's classifier head was loaded as well.
        public let loadedClassifier: Bool
    }

    /// Reads a checkpoint's tensors: safetensors, or a PyTorch `.pt`/`.pth` state dict (such as
    /// the reference's `epoch300_model.pt`), told apart by content (`WeightsFile`).
    public static func readTensors(path: String) throws -> [String: HostTensor] {
        // A path that is no file at all is said in the words of the file check, once.
        if let problem = InputFile.problem(path) {
            throw EvaluationError.checkpoint(file: path, detail: "cannot read the checkpoint: \(problem)")
        }
        do {
            return try WeightsFile.read(path: path)
        } catch {
            throw EvaluationError.checkpoint(file: path, detail: "cannot read the checkpoint: \(error)")
        }
    }

    /// The name prefix of the encoder inside a checkpoint: `encoder_q.` for pre-training
    /// checkpoints, `""` for a bare encoder (classifier checkpoints), `module.encoder_q.` for
    /// checkpoints saved from a DataParallel wrapper.
    public static func encoderPrefix(_ tensors: [String: HostTensor], file: String) throws -> String {
        for prefix in ["encoder_q.", "", "module.encoder_q.", "module."] where tensors[prefix + "data_bn.weight"] != nil {
            return prefix
        }
        throw EvaluationError.checkpoint(file: file, detail: "no encoder found (neither 'encoder_q.data_bn.weight' nor 'data_bn.weight')")
    }

    /// Widths of the encoder stored under `prefix`.
    public static func inferShape(_ tensors: [String: HostTensor], prefix: String, joints: Int, file: String) throws -> EncoderShape {
        func dim0(_ name: String) throws -> Int {
            guard let t = tensors[prefix + name], let d = t.shape.first else {
                throw EvaluationError.checkpoint(file: file, detail: "missing '\(prefix + name)'")
            }
            return d
        }
        var s = EncoderShape()
        let dataBN = try dim0("data_bn.weight")
        guard dataBN % joints == 0 else {
            throw EvaluationError.checkpoint(file: file, detail: "data_bn has \(dataBN) channels, not a multiple of \(joints) joints")
        }
        s.inChannels = dataBN / joints
        s.hiddenChannels = try dim0("st_gcn_networks.0.tcn.0.weight")
        s.hiddenDim = try dim0("st_gcn_networks.9.tcn.0.weight")
        s.edgeImportance = tensors[prefix + "edge_importance.0"] != nil
        return s
    }

    /// The encoder configuration for `shape` on `layout` with a `numClass` classifier head.
    public static func config(shape: EncoderShape, layout: SkeletonLayout, numClass: Int, dropout: Float = 0.5) -> STGCNConfig {
        STGCNConfig(inChannels: shape.inChannels, hiddenChannels: shape.hiddenChannels, hiddenDim: shape.hiddenDim,
                    dropout: dropout, edgeImportance: shape.edgeImportance,
                    adjacency: SpatialGraph(layout: layout).adjacency, joints: layout.jointCount,
                    head: .classifier(numClass: numClass))
    }

    /// Builds the encoder and loads `source`. The classifier head is initialised N(0, 0.02²) / 0
    /// from `headSeed` unless a classifier checkpoint's own head is kept. `dropout` matters only to
    /// training in train mode (evaluation runs in eval mode, without dropout).
    public static func load(_ source: EncoderSource, layout: SkeletonLayout, numClass: Int, device: Device,
                            randomShape: EncoderShape = EncoderShape(), headSeed: UInt64 = 0,
                            keepClassifier: Bool = false, dropout: Float = 0.5) throws -> Loaded {
        switch source {
        case .randomInit(let seed):
            let encoder = try STGCN(config: config(shape: randomShape, layout: layout, numClass: numClass, dropout: dropout),
                                    device: device, seed: seed)
            encoder.initializeHead(seed: headSeed)
            return Loaded(encoder: encoder, shape: randomShape, kind: "random", loadedClassifier: false)
        case .checkpoint(let path):
            let tensors = try readTensors(path: path)
            return try load(tensors: tensors, file: path, layout: layout, numClass: numClass, device: device,
                            headSeed: headSeed, keepClassifier: keepClassifier, dropout: dropout)
        }
    }

    /// As `load(_:…)` from tensors already in memory.
    public static func load(tensors: [String: HostTensor], file: String, layout: SkeletonLayout, numClass: Int,
                            device: Device, headSeed: UInt64 = 0, keepClassifier: Bool = false,
                            dropout: Float = 0.5) throws -> Loaded {
        let prefix = try encoderPrefix(tensors, file: file)
        let shape = try inferShape(tensors, prefix: prefix, joints: layout.jointCount, file: file)
        let encoder = try STGCN(config: config(shape: shape, layout: layout, numClass: numClass, dropout: dropout),
                                device: device, seed: headSeed)
        encoder.initializeHead(seed: headSeed)
        // A classifier checkpoint's head is kept only when asked and when it has the right size.
        let fcShape = tensors[prefix + "fc.weight"]?.shape
        let takeHead = keepClassifier && prefix != "encoder_q." && fcShape == [numClass, shape.hiddenDim]
        do {
            try encoder.importState(tensors, prefix: prefix, includeHead: takeHead, strict: true)
        } catch {
            throw EvaluationError.checkpoint(file: file, detail: "encoder does not load: \(error)")
        }
        return Loaded(encoder: encoder, shape: shape, kind: prefix.contains("encoder_q") ? "pretrain" : "classifier",
                      loadedClassifier: takeHead)
    }
}
