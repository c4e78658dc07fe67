import Foundation

/// The backbone as the kNN monitor read it: kNN top-1 and the effective rank of the bank's
/// representations (`RepresentationRank`).
public struct BackboneReading: Sendable, Equatable {
    public var top1: Double
    public var rank: Double
    public init(top1: Double, rank: Double) { self.top1 = top1; self.rank = rank }
}

/// What a projection collapse (`CollapseDetector.verdict`) means for the run once the backbone is
/// read too. On small sets the projections of every recipe measured collapse within the first
/// queue turnover, while on the better ones the backbone keeps its rank and its kNN top-1 rises:
/// a warning there would make a working run read as a failed one. So a projection collapse is a
/// warning unless the monitor shows a backbone that is neither less separable nor dimensionally
/// collapsed compared with the untrained encoder; then it is a note.
public enum CollapseAssessment: Equatable, Sendable {
    /// No sign of collapse.
    case spread
    /// The projections collapsed, the backbone did not: a `note:` line.
    case projectionsOnly(note: String)
    /// The run collapsed (or there is no backbone reading to say otherwise): a `warning:` line.
    case collapsed(warning: String)

    /// Whether the run counts as collapsed (`"collapse"` in the health record).
    public var isCollapse: Bool {
        if case .collapsed = self { return true }
        return false
    }

    /// - Parameters:
    ///   - reason: the projection verdict (nil: the projections are spread).
    ///   - backbone: the latest reading of the trained encoder (nil: no monitor, or not yet measured).
    ///   - untrained: the reading before the first update (nil: no monitor, or a resumed run).
    public static func assess(epoch: Int, reason: String?, backbone: BackboneReading?, untrained: BackboneReading?) -> Self {
        guard let reason else { return .spread }
        guard let b = backbone, let u = untrained, b.top1 >= u.top1,
              b.rank >= RepresentationRank.collapseFraction * u.rank else {
            return .collapsed(warning: CollapseDetector.warning(epoch: epoch, reason: reason))
        }
        return .projectionsOnly(note: String(format: "note: epoch %d: the projections have collapsed (%@), the backbone has not: "
            + "kNN top-1 %.2f%% (untrained %.2f%%), representation rank %.1f (untrained %.1f); the contrastive loss stays "
            + "near ln(K+1) while the representations can still improve: judge this run by the kNN monitor and "
            + "`aimclr linear --standardize-features`, not by the loss", epoch, reason, b.top1 * 100, u.top1 * 100, b.rank, u.rank))
    }
}
