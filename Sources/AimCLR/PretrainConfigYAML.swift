import Foundation
import Yams

extension PretrainConfig {
    /// The configuration in the reference's YAML layout and keys (`train_feeder_args`,
    /// `model_args`, `base_lr`, `step`, ...), which `load(yaml:)` reads back unchanged. Written as
    /// `WORK_DIR/config.yaml` so a run can be repeated with `--config`.
    public func yaml() throws -> String {
        func scalar(_ text: String) -> Node { Node(text) }
        func number<T: CustomStringConvertible>(_ v: T) -> Node { Node(v.description) }
        func bool(_ v: Bool) -> Node { Node(v ? "true" : "false") }
        func map(_ pairs: [(String, Node)]) -> Node { Node.mapping(Node.Mapping(pairs.map { (Node($0.0), $0.1) })) }

        let feeder = map([
            ("data_path", scalar(dataPath)), ("label_path", scalar(labelPath)),
            ("shear_amplitude", number(shearAmplitude)), ("temperal_padding_ratio", number(temporalPaddingRatio)),
        ])
        let model = map([
            ("pretrain", bool(true)), ("feature_dim", number(featureDim)), ("queue_size", number(queueSize)),
            ("momentum", number(momentum)), ("Temperature", number(temperature)), ("in_channels", number(inChannels)),
            ("hidden_channels", number(hiddenChannels)), ("hidden_dim", number(hiddenDim)), ("num_class", number(numClass)),
            ("dropout", number(dropout)), ("edge_importance_weighting", bool(edgeImportance)),
            ("graph_args", map([("layout", scalar(layout))])),
        ])
        let root = map([
            ("work_dir", scalar(workDir)),
            ("method", scalar(method.rawValue)), ("stream", scalar(stream.rawValue)),
            ("train_feeder_args", feeder),
            ("model_args", model),
            ("base_lr", number(baseLR)), ("weight_decay", number(weightDecay)),
            ("step", Node.sequence(Node.Sequence(steps.map { number($0) }))),
            ("batch_size", number(batchSize)), ("num_epoch", number(numEpoch)),
            ("mining_epoch", number(miningEpoch)), ("topk", number(topK)),
            ("lr_warmup_epochs", number(lrWarmupEpochs)),
            ("eadm_no_op", bool(eadmNoOp)), ("extreme_time_flip", bool(extremeTimeFlip)),
            ("queue_warmup", bool(queueWarmup)), ("shuffle_bn_splits", number(keyShuffleSplits)),
            ("projector_bn", bool(projectionBatchNorm)),
            ("keep_temporal_columns", keepTemporalColumns.map(bool) ?? scalar("auto")),
            ("frame_major_blocks", bool(frameMajorBlocks)),
            ("save_interval", number(saveInterval)), ("seed", number(seed)),
            ("max_iterations", number(maxIterationsPerEpoch)),
        ])
        return "# Effective configuration of this run; repeat it with `aimclr pretrain --config <this file>`.\n"
            + (try Yams.serialize(node: root))
    }
}
