import Foundation
import Skeleton

/// What `aimclr train` trains: the data, the encoder's shape and the recipe. Stored in every
/// checkpoint, so `--resume` continues with exactly this.
public struct SupervisedTrainingConfig: Codable, Sendable, Equatable {
    /// Folder of `{train,val}_position.npy` and `{train,val}_label.pkl`.
    public var data: String
    public var trainPart: DataPart = .train
    public var testPart: DataPart = .val
    public var workDir: String
    /// Layout name (`ntu-rgb+d`, `kinect-v1`, `openpose`) or a layout JSON file.
    public var layout: String = "ntu-rgb+d"
    public var stream: SkeletonStream = .joint
    /// Encoder widths: AimCLR's (blocks 16 … 64 wide, a 256-d representation), so a supervised
    /// encoder is the same network the self-supervised probes read.
    public var hiddenChannels = 16
    public var hiddenDim = 256
    /// Dropout of blocks 2-10 (ST-GCN and AimCLR: 0.5).
    public var dropout: Float = 0.5
    /// Classes of the classifier; nil: the largest label of either part + 1.
    public var numClass: Int?
    /// Keep the checkpoints of every this many epochs; the newest is always there for `--resume`.
    public var saveInterval = 1
    public var training: ClassifierTrainingConfig = .supervised

    public init(data: String, workDir: String) {
        self.data = data
        self.workDir = workDir
    }

    /// Checks every setting; an error names the setting as `SupervisedTrainingConfig.settingNames` lists it.
    public func validate() throws {
        func need(_ ok: Bool, _ name: String, _ why: String) throws {
            if !ok { throw EvaluationError.invalidSetting(name: name, detail: why) }
        }
        try need(hiddenChannels > 0, "hidden channels", "must be positive (got \(hiddenChannels))")
        try need(hiddenDim > 0, "hidden dim", "must be positive (got \(hiddenDim))")
        try need(dropout.isFinite && dropout >= 0 && dropout < 1, "dropout", "must be in [0, 1) (got \(dropout))")
        if let n = numClass { try need(n >= 1, "num class", "must be at least 1 (got \(n))") }
        try need(saveInterval >= 1, "save interval", "must be at least 1 (got \(saveInterval))")
        try need(trainPart != testPart, "test part", "must differ from the training part (both \(trainPart.rawValue))")
        try training.validate()
    }

    /// The encoder shape for `EncoderLoader`.
    public var shape: EncoderShape {
        var s = EncoderShape()
        s.hiddenChannels = hiddenChannels
        s.hiddenDim = hiddenDim
        return s
    }
}
