import Compute
import Foundation
import NN
import Skeleton
import Yams

/// Which method a pretraining run uses.
public enum PretrainMethod: String, Codable, Sendable, CaseIterable {
    /// AimCLR: normal + extreme views, EADM, D3M, NNM.
    case aimclr
    /// SkeletonCLR baseline: normal views only, InfoNCE (spec §7).
    case skeletonclr
}

/// Everything a pretraining run needs. Defaults are the reference hyper-parameters
/// (`pretext_aimclr_xsub_joint.yaml`); `load(yaml:)` reads the reference YAML keys.
public struct PretrainConfig: Codable, Sendable, Equatable {
    // Data (`train_feeder_args`).
    public var dataPath: String = "data/synthetic/train_position.npy"
    public var labelPath: String = "data/synthetic/train_label.pkl"
    public var shearAmplitude: Double = 0.5
    public var temporalPaddingRatio: Int = 6
    public var stream: SkeletonStream = .joint

    // Model (`model_args`).
    public var method: PretrainMethod = .aimclr
    public var featureDim: Int = 128
    public var queueSize: Int = 32768
    public var momentum: Float = 0.999
    public var temperature: Float = 0.07
    public var inChannels: Int = 3
    public var hiddenChannels: Int = 16
    public var hiddenDim: Int = 256
    public var numClass: Int = 60
    public var dropout: Float = 0.5
    public var layout: String = "ntu-rgb+d"
    public var edgeImportance: Bool = true

    // Optimisation.
    public var baseLR: Float = 0.1
    public var weightDecay: Float = 1e-4
    public var steps: [Int] = [250]
    public var batchSize: Int = 128
    public var numEpoch: Int = 300
    public var miningEpoch: Int = 150
    public var topK: Int = 1
    /// Linear learning-rate warm-up over the first N epochs, per iteration from base / W to
    /// base (W the warm-up's iterations), then the step schedule. Not in the reference (0, none).
    /// Stored optional so checkpoints written before it decode.
    public var lrWarmup: Int? = nil
    public var lrWarmupEpochs: Int {
        get { lrWarmup ?? 0 }
        set { lrWarmup = newValue == 0 ? nil : newValue }
    }

    // Version switches (spec §8.1): HEAD behaviour by default.
    public var eadmNoOp: Bool = false
    public var extremeTimeFlip: Bool = false

    /// Fill the queue with keys of the untrained key encoder before the first update, instead of
    /// starting from random unit columns. Off in the reference. Random negatives reward mapping
    /// every sample to the keys' common direction until the queue has turned over once; on short
    /// schedules that collapse is never undone (see the README's demo section).
    public var queueWarmup: Bool = false

    /// Shuffled key BN: run the key encoder on this many shuffled sub-batches (MoCo's remedy for
    /// batch-statistics leakage between a query and its positive key). 1, the reference: one
    /// pass over the whole batch. Stored optional so checkpoints written before it decode.
    public var shuffleBNSplits: Int? = nil

    /// Projection head `Linear → BatchNorm1d → ReLU → Linear` instead of the reference's
    /// `Linear → ReLU → Linear` (MoCo v3 / SimCLR style). Stored optional so older checkpoints decode.
    public var projectorBN: Bool? = nil
    public var projectionBatchNorm: Bool {
        get { projectorBN ?? false }
        set { projectorBN = newValue ? true : nil }
    }
    public var keyShuffleSplits: Int {
        get { shuffleBNSplits ?? 1 }
        set { shuffleBNSplits = newValue == 1 ? nil : newValue }
    }

    /// Keep each block's temporal-conv im2col from the forward for the backward (about 2.4 GB
    /// per trainable view at the reference shapes) instead of rebuilding it there. nil (auto):
    /// keep them on a GPU with memory to spare (`keepsTemporalColumns(on:)`), rebuild on the CPU.
    public var keepTemporalColumns: Bool? = nil

    /// Auto keeps columns on OpenCL GPUs of at least this much memory.
    public static let autoKeepColumnsMinimumBytes = 16 << 30

    /// Whether the model keeps the temporal-conv columns on `device`.
    public func keepsTemporalColumns(on device: Device) -> Bool {
        keepTemporalColumns ?? (device.kind == .openCLGPU && (device.memoryBytes ?? 0) >= Self.autoKeepColumnsMinimumBytes)
    }

    /// Run the wide stride-1 blocks (block 10) on a frame-major view (see
    /// `STGCNConfig.frameMajorMinimumChannels`). Off draws those blocks' dropout masks over the
    /// sample-major order, as before the option existed.
    public var frameMajorBlocks: Bool = true

    // Run control.
    public var workDir: String = "runs/pretrain"
    public var saveInterval: Int = 5
    public var seed: UInt64 = 0
    /// Stop after this many iterations per epoch (0: the whole epoch). For smoke runs and demos.
    public var maxIterationsPerEpoch: Int = 0

    public init() {}

    public enum ConfigError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, detail: String)
        case wrongType(path: String, key: String, expected: String, found: String)
        case invalid(key: String, detail: String)

        public var description: String {
            switch self {
            case .unreadable(let p, let d): return "\(p): cannot read configuration: \(d)"
            case .wrongType(let p, let k, let e, let f): return "\(p): key '\(k)' should be \(e), found '\(f)'"
            case .invalid(let k, let d): return "configuration key '\(k)': \(d)"
            }
        }
    }

    /// Reads a reference-style YAML file on top of the defaults. Unknown keys are returned
    /// (the caller warns about them); keys with the wrong type are errors naming the key.
    public static func load(yaml path: String) throws -> (PretrainConfig, unknownKeys: [String]) {
        let text: String
        if let problem = InputFile.problem(path) { throw ConfigError.unreadable(path: path, detail: problem) }
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError.unreadable(path: path, detail: error.localizedDescription)
        }
        try rejectHostileYAML(text, path: path)
        let root: Any?
        do {
            // Yams traps on a mapping key that is not a scalar (`[a]: b`); check the node tree first.
            if let node = try Yams.compose(yaml: text) { try requireScalarKeys(node, path: path) }
            root = try Yams.load(yaml: text)
        } catch let e as ConfigError { throw e } catch {
            throw ConfigError.unreadable(path: path, detail: "\(error)")
        }
        guard let dict = root as? [String: Any] else {
            throw ConfigError.unreadable(path: path, detail: "the top level is not a mapping")
        }
        var c = PretrainConfig()
        var r = YAMLReader(path: path)
        try r.apply(dict, to: &c)
        do { try c.validate() } catch let ConfigError.invalid(key, detail) {
            throw ConfigError.invalid(key: key, detail: "\(detail) (in \(path))")
        }
        return (c, r.unknown)
    }

    /// Refuses what no configuration needs but a hostile file could use to exhaust the stack or
    /// memory while parsing: deep flow nesting and aliases (`*name`, the "billion laughs").
    static func rejectHostileYAML(_ text: String, path: String) throws {
        var depth = 0, previous: UInt8 = 0x20
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > 64 { throw ConfigError.unreadable(path: path, detail: "flow collections nested deeper than 64 levels") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth = max(0, depth - 1)
            case UInt8(ascii: "*"):
                if [0x20, 0x09, 0x0A, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"),
                    UInt8(ascii: "-")].contains(previous) {
                    throw ConfigError.unreadable(path: path, detail: "YAML aliases (*name) are not supported in configurations")
                }
            default: break
            }
            previous = c
        }
    }

    static func requireScalarKeys(_ node: Node, path: String) throws {
        switch node {
        case .mapping(let m):
            for (key, value) in m {
                guard case .scalar = key else {
                    throw ConfigError.unreadable(path: path, detail: "line \(key.mark?.line ?? 0): mapping keys must be plain words, found \(key)")
                }
                try requireScalarKeys(value, path: path)
            }
        case .sequence(let s):
            for value in s { try requireScalarKeys(value, path: path) }
        default:
            break
        }
    }

    /// Checks values that would otherwise fail deep inside a run.
    public func validate() throws {
        func need(_ ok: Bool, _ key: String, _ why: String) throws { if !ok { throw ConfigError.invalid(key: key, detail: why) } }
        try need(batchSize > 0, "batch_size", "must be positive (got \(batchSize))")
        try need(queueSize > 0 && queueSize % batchSize == 0, "queue_size",
                 "must be a positive multiple of batch_size (\(queueSize) vs \(batchSize))")
        try need(numEpoch > 0, "num_epoch", "must be positive (got \(numEpoch))")
        try need(topK >= 1, "topk", "must be at least 1 (got \(topK))")
        try need(dropout >= 0 && dropout < 1, "dropout", "must be in [0, 1) (got \(dropout))")
        try need(temperature > 0, "Temperature", "must be positive")
        try need(momentum >= 0 && momentum <= 1, "momentum", "must be in [0, 1] (got \(momentum))")
        try need(saveInterval >= 1, "save_interval", "must be at least 1 (got \(saveInterval))")
        // Sizes: positive and bounded, so a hostile file cannot trap an allocation later.
        try need(queueSize <= 1 << 24, "queue_size", "must be at most \(1 << 24)")
        try need(batchSize <= 1 << 16, "batch_size", "must be at most \(1 << 16)")
        try need(numEpoch <= 1_000_000, "num_epoch", "must be at most 1000000")
        for (key, v) in [("feature_dim", featureDim), ("in_channels", inChannels), ("hidden_channels", hiddenChannels),
                         ("hidden_dim", hiddenDim), ("num_class", numClass)] {
            try need(v > 0 && v <= 1 << 16, key, "must be in 1...\(1 << 16) (got \(v))")
        }
        try need(temporalPaddingRatio >= 0 && temporalPaddingRatio <= 1 << 16, "temperal_padding_ratio", "must be in 0...\(1 << 16)")
        try need(shearAmplitude.isFinite && baseLR.isFinite && weightDecay.isFinite, "base_lr",
                 "learning rate, weight decay and shear must be finite")
        try need(maxIterationsPerEpoch >= 0, "max_iterations", "must not be negative (got \(maxIterationsPerEpoch))")
        try need(miningEpoch >= 0, "mining_epoch", "must not be negative (got \(miningEpoch))")
        try need(lrWarmupEpochs >= 0 && lrWarmupEpochs <= numEpoch, "lr_warmup_epochs",
                 "must be in 0...num_epoch (\(numEpoch)) (got \(lrWarmupEpochs))")
        try need(keyShuffleSplits >= 1 && batchSize % keyShuffleSplits == 0 && (keyShuffleSplits == 1 || batchSize / keyShuffleSplits >= 2),
                 "shuffle_bn_splits", "must divide batch_size into sub-batches of at least 2 samples (got \(keyShuffleSplits) for batch \(batchSize))")
    }

    /// The step schedule: lr = base · 0.1^(number of steps < epoch), epochs 1-based.
    public var schedule: StepLRSchedule { StepLRSchedule(baseLearningRate: baseLR, milestones: steps) }

    /// The learning rate of the step after `iteration` earlier ones: the step schedule's for the
    /// epoch, times (iteration + 1) / W during the warm-up's W = lrWarmupEpochs · iterationsPerEpoch
    /// iterations.
    public func learningRate(epoch: Int, iteration: Int, iterationsPerEpoch: Int) -> Float {
        let lr = schedule.learningRate(epoch: epoch)
        let warmup = lrWarmupEpochs * max(iterationsPerEpoch, 1)
        guard warmup > 0, iteration < warmup else { return lr }
        return lr * Float(max(iteration, 0) + 1) / Float(warmup)
    }
}

/// Maps the reference YAML keys onto `PretrainConfig`, with typed errors.
struct YAMLReader {
    let path: String
    var unknown: [String] = []

    /// Keys of the reference configs that have no meaning here (device ids, class paths, ...).
    static let ignored: Set<String> = ["train_feeder", "test_feeder", "model", "base_encoder", "pretrain", "mlp",
                                       "optimizer", "nesterov", "device", "test_batch_size", "start_epoch",
                                       "eval_interval", "log_interval", "mmap", "graph_args", "strategy",
                                       "config", "debug", "ignore_weights", "weights", "phase", "num_worker",
                                       "print_log", "save_log", "save_result", "use_gpu", "test_feeder_args",
                                       "show_topk", "label_path_test", "data_path_test"]

    mutating func apply(_ dict: [String: Any], to c: inout PretrainConfig) throws {
        for (key, value) in dict.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "work_dir": c.workDir = try string(key, value)
            case "train_feeder_args", "model_args":
                guard let sub = value as? [String: Any] else { throw wrong(key, "a mapping", value) }
                try apply(sub, to: &c)
            case "data_path": c.dataPath = try string(key, value)
            case "label_path": c.labelPath = try string(key, value)
            case "shear_amplitude": c.shearAmplitude = try double(key, value)
            case "temperal_padding_ratio": c.temporalPaddingRatio = try int(key, value)
            case "aug_method":
                c.extremeTimeFlip = try string(key, value).contains("6")
            case "feature_dim": c.featureDim = try int(key, value)
            case "queue_size": c.queueSize = try int(key, value)
            case "momentum": c.momentum = Float(try double(key, value))
            case "Temperature", "temperature": c.temperature = Float(try double(key, value))
            case "in_channels": c.inChannels = try int(key, value)
            case "hidden_channels": c.hiddenChannels = try int(key, value)
            case "hidden_dim": c.hiddenDim = try int(key, value)
            case "num_class": c.numClass = try int(key, value)
            case "dropout": c.dropout = Float(try double(key, value))
            case "layout": c.layout = try string(key, value)
            case "edge_importance_weighting": c.edgeImportance = try bool(key, value)
            case "base_lr": c.baseLR = Float(try double(key, value))
            case "weight_decay": c.weightDecay = Float(try double(key, value))
            case "step": c.steps = try intList(key, value)
            case "batch_size": c.batchSize = try int(key, value)
            case "num_epoch": c.numEpoch = try int(key, value)
            case "mining_epoch": c.miningEpoch = try int(key, value)
            case "topk": c.topK = try int(key, value)
            case "lr_warmup_epochs": c.lrWarmupEpochs = try int(key, value)
            case "stream":
                let s = try string(key, value)
                guard let v = SkeletonStream(rawValue: s) else { throw wrong(key, "one of joint, motion, bone", value) }
                c.stream = v
            case "method":
                let s = try string(key, value)
                guard let v = PretrainMethod(rawValue: s) else { throw wrong(key, "aimclr or skeletonclr", value) }
                c.method = v
            case "save_interval": c.saveInterval = try int(key, value)
            case "seed":
                // Seeds span UInt64; YAML reads those above Int64.max as strings.
                guard let s = (value as? Int).flatMap({ $0 >= 0 ? UInt64($0) : nil }) ?? UInt64("\(value)") else {
                    throw wrong(key, "a non-negative integer", value)
                }
                c.seed = s
            case "max_iterations": c.maxIterationsPerEpoch = try int(key, value)
            case "eadm_no_op": c.eadmNoOp = try bool(key, value)
            case "extreme_time_flip": c.extremeTimeFlip = try bool(key, value)
            case "queue_warmup": c.queueWarmup = try bool(key, value)
            case "shuffle_bn_splits": c.keyShuffleSplits = try int(key, value)
            case "projector_bn": c.projectionBatchNorm = try bool(key, value)
            case "keep_temporal_columns":
                if (value as? String)?.lowercased() == "auto" {
                    c.keepTemporalColumns = nil
                } else {
                    guard let keep = try? bool(key, value) else { throw wrong(key, "true, false or auto", value) }
                    c.keepTemporalColumns = keep
                }
            case "frame_major_blocks": c.frameMajorBlocks = try bool(key, value)
            default:
                if !Self.ignored.contains(key) { unknown.append(key) }
            }
        }
        if let graph = dict["graph_args"] as? [String: Any], let layout = graph["layout"] {
            c.layout = try string("graph_args.layout", layout)
        }
    }

    func wrong(_ key: String, _ expected: String, _ value: Any) -> PretrainConfig.ConfigError {
        .wrongType(path: path, key: key, expected: expected, found: "\(value)")
    }

    func string(_ key: String, _ v: Any) throws -> String {
        if let s = v as? String { return s }
        throw wrong(key, "a string", v)
    }

    func int(_ key: String, _ v: Any) throws -> Int {
        if let i = v as? Int { return i }
        if let s = v as? String, let i = Int(s) { return i }
        throw wrong(key, "an integer", v)
    }

    /// PyYAML reads `1e-4` as a string (no dot); the reference then converts it, so do we.
    func double(_ key: String, _ v: Any) throws -> Double {
        if let d = v as? Double, d.isFinite { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String, let d = Double(s), d.isFinite { return d }
        throw wrong(key, "a finite number", v)
    }

    func bool(_ key: String, _ v: Any) throws -> Bool {
        if let b = v as? Bool { return b }
        if let s = v as? String {
            switch s.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default: break
            }
        }
        throw wrong(key, "true or false", v)
    }

    func intList(_ key: String, _ v: Any) throws -> [Int] {
        if let list = v as? [Any] { return try list.map { try int(key, $0) } }
        if let i = v as? Int { return [i] }
        throw wrong(key, "a list of integers", v)
    }
}
