import Compute
import Foundation
import NN
import Skeleton

/// kNN top-1 of the query encoder during pretraining, as `aimclr knn` computes it (eval-mode
/// pooled representations, cosine top-k votes) on capped, evenly spread subsets: the training
/// part as the memory bank and a labelled part as the test set. Eval mode reads the BN running
/// statistics without updating them and skips dropout, so training continues unchanged.
final class KNNMonitor {
    let bank: EvaluationSet
    let test: EvaluationSet
    let classifier: KNNClassifier

    init(bank full: EvaluationSet, test fullTest: EvaluationSet, settings: KNNMonitorSettings) throws {
        bank = full.count > settings.samples ? try full.subset(Self.spread(count: full.count, cap: settings.samples), source: "(monitor)") : full
        test = fullTest.count > settings.samples
            ? try fullTest.subset(Self.spread(count: fullTest.count, cap: settings.samples), source: "(monitor)") : fullTest
        classifier = KNNClassifier(k: settings.k, temperature: settings.temperature, standardize: settings.standardize)
    }

    /// `cap` indices spread evenly over 0..<count, in order (the same samples every epoch and run).
    static func spread(count: Int, cap: Int) -> [Int] {
        let n = min(count, cap)
        return (0..<n).map { $0 * count / n }
    }

    /// kNN top-1 of `encoder`'s representations (batches of `batchSize`, as `aimclr knn --batch-size`),
    /// and the effective rank of the memory bank's representations (`RepresentationRank`).
    func measure(encoder: STGCN, batchSize: Int, stream: SkeletonStream, layout: SkeletonLayout) throws
        -> (top1: Double, representationRank: Double) {
        let extractor = FeatureExtractor(encoder: encoder, batchSize: batchSize, stream: stream, layout: layout)
        let bankFeatures = try extractor.representations(of: bank)
        let testFeatures = try extractor.representations(of: test)
        let top1 = try classifier.evaluate(bank: bankFeatures, test: testFeatures, device: encoder.device).top1
        let rank = RepresentationRank.effectiveRank(bankFeatures.values, rows: bankFeatures.count, dimension: bankFeatures.dimension)
        return (top1, rank)
    }
}
