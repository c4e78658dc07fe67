import Compute
import Foundation
import NN
import Skeleton

/// The input stream (joint, motion, bone) a checkpoint was trained on, as its metadata records
/// it: pretraining checkpoints in their stored configuration, classifier checkpoints directly.
/// An encoder evaluated on another stream than it learnt gives near-chance results silently,
/// so the verbs warn about a mismatch.
public enum RecordedStream {
    /// nil for files without that record (PyTorch checkpoints, older files).
    public static func of(checkpoint path: String) -> SkeletonStream? {
        guard InputFile.problem(path) == nil, let file = try? SafeTensors.read(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        if let s = file.metadata["stream"] { return SkeletonStream(rawValue: s) }
        guard let json = file.metadata["config"]?.data(using: .utf8),
              let config = try? JSONDecoder().decode(PretrainConfig.self, from: json) else { return nil }
        return config.stream
    }

    /// The warning to print when `path` was trained on another stream than `stream`, else nil.
    public static func mismatch(checkpoint path: String, evaluatedOn stream: SkeletonStream) -> String? {
        guard let recorded = of(checkpoint: path), recorded != stream else { return nil }
        return "warning: \(path) was trained on the \(recorded.rawValue) stream but is evaluated on the \(stream.rawValue) stream "
            + "(--stream \(recorded.rawValue) matches it)"
    }
}
