import ArgumentParser
import Foundation
import Skeleton

/// The options `prepare msr|utkinect|nwucla` share.
struct KinectV1PrepareOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The dataset's folder, a folder holding its one archive, or the .tar/.tar.xz/.tar.gz archive itself (unpacked into a temporary folder).",
                               valueName: "dir|archive")) var skeletons: String
    @Option(help: ArgumentHelp("Output folder (created if missing).", valueName: "dir")) var out: String
    @Option(help: ArgumentHelp("""
        Joint layout written: kinect-v1 (the 20 Kinect SDK joints; pretrain/evaluate with --layout kinect-v1 or \
        `layout: kinect-v1`) or ntu-rgb+d (mapped onto NTU's 25 joints for NTU-pretrained encoders: NTU 1-20 = \
        Kinect 1-20, NTU 21 spine shoulder = Kinect 3 shoulder centre, NTU 22-23 left hand tip and thumb = \
        Kinect 8 left hand, NTU 24-25 right hand tip and thumb = Kinect 12 right hand).
        """, valueName: "layout")) var layout: KinectV1OutputLayout = .kinectV1
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Body slots M written: 2 (NTU's shape; the second slot stays zero) or 1. These sets hold one person; "
            + "the empty second slot adds the same features to every representation, and on MSR it is what makes "
            + "the projections collapse (README: Small data).", valueName: "1|2")) var bodies: Int = 2
    @Option(parsing: .unconditional, help: "Frames of the normalised sequences.") var frames: Int = 50
    @Flag(help: "Also write the raw 300-frame ST-GCN arrays {part}_data.npy.") var keepStgcnArrays = false

    func validate() throws {
        guard frames >= 1, frames <= 10_000 else { throw CommandFailure("--frames must be in 1...10000, got \(frames)") }
        guard bodies == 1 || bodies == 2 else { throw CommandFailure("--bodies must be 1 or 2, got \(bodies)") }
        try OutputLocation.requireFolder(out, flag: "--out")
    }

    var prepare: PrepareOptions {
        var o = prepareOptions(frames: frames, keepRaw: keepStgcnArrays)
        o.kinectV1Layout = layout
        o.kinectV1Bodies = bodies
        return o
    }

    /// Runs one preparation and prints its summary.
    func run(_ body: (PrepareOptions, @escaping (PrepareProgress) -> Void) throws -> PrepareReport, options: PrepareOptions? = nil) throws {
        let progress = ProgressPrinter()
        let report = try reportingErrors(out) { try body(options ?? prepare, progress.update) }
        printReport(report, outputDirectory: out, elapsed: progress.elapsed)
    }
}

/// Shared --help text of the three Kinect v1 datasets.
let kinectV1OutputHelp = """
    Outputs, as for `prepare ntu`: {train,val}_position.npy float32 (N, 3, FRAMES, V, 2) after the \
    frame50 normalisation (centred on the shoulder centre, rotated so the shoulders lie on x), with \
    V = 20 (--layout kinect-v1) or 25 (--layout ntu-rgb+d) and the second body slot zero (--bodies 1: one slot); \
    {train,val}_label.pkl (names, 0-based labels); with --keep-stgcn-arrays {train,val}_data.npy \
    (N, 3, 300, V, 2); class_names.txt (one name per line, by label, for `aimclr report \
    --class-names`). Frames with a joint at exactly (0, 0, 0) are untracked and dropped before \
    the normalisation; a sample with no tracked frame is skipped and listed. Malformed files are \
    skipped and listed as file:line: reason. The summary gives per part the samples, classes and \
    frames min/median/max.
    """

struct PrepareMSRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "msr",
        abstract: "Prepare MSR Action3D (Kinect v1, 20 joints) from its real-world skeleton files.",
        discussion: """
        --skeletons holds the aAA_sSS_eEE_skeleton3D.txt files (x y z confidence per line, 20 lines per \
        frame, in MSR's own joint order, reordered here to the Kinect SDK order). Split: cross-subject, \
        odd subjects (1, 3, 5, 7, 9) train, even subjects test; label = action − 1 (20 classes). \
        --paper-subset keeps only the sequences files_used_in_cvpr12_paper.txt lists.

        \(kinectV1OutputHelp)
        """)

    @OptionGroup var options: KinectV1PrepareOptions
    @Flag(help: "Keep only the sequences listed in the folder's files_used_in_cvpr12_paper.txt.") var paperSubset = false

    func run() throws {
        var o = options.prepare
        o.msrPaperSubset = paperSubset
        try options.run({ try DatasetPreparation.prepareMSRAction3D(input: options.skeletons, outputDirectory: options.out, options: $0, progress: $1) }, options: o)
    }
}

struct PrepareUTKinectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "utkinect",
        abstract: "Prepare UTKinect-Action3D (Kinect v1, 20 joints) from its joint and label files.",
        discussion: """
        --skeletons holds joints_sSS_eEE.txt (a frame ID and 20 joints × xyz per line) and the label \
        files. Each labelled action (the frames whose ID lies in its inclusive start...end range) is one \
        sample named sSS_eEE_action, 10 classes in the label file's order (walk, sitDown, standUp, \
        pickUp, carry, throw, push, pull, waveHands, clapHands). Labels: --labels, else the folder's \
        actionLabel_modified.txt (the dataset's corrected ranges), else actionLabel.txt; a NaN range \
        (carry of s10_e02) is left out with a note. Split: cross-subject, odd subjects (1, 3, 5, 7, 9) \
        train, even subjects test (the dataset's own leave-one-sequence-out protocol needs 20 folds).

        \(kinectV1OutputHelp)
        """)

    @OptionGroup var options: KinectV1PrepareOptions
    @Option(help: ArgumentHelp("Label file (default: actionLabel_modified.txt, else actionLabel.txt, in the data folder).", valueName: "file"))
    var labels: String?

    func run() throws {
        var o = options.prepare
        o.utkinectLabels = labels
        try options.run({ try DatasetPreparation.prepareUTKinect(input: options.skeletons, outputDirectory: options.out, options: $0, progress: $1) }, options: o)
    }
}

struct PrepareNWUCLACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nwucla",
        abstract: "Prepare NW-UCLA (Kinect v1, 20 joints) from its JSON release.",
        discussion: """
        --skeletons holds the aAA_sSS_eEE_vVV.json files of the JSON release (all_sqe: file_name, \
        skeletons as frames × 20 joints × xyz in the Kinect SDK order, label 1-10). Split: cross-view, \
        views 1 and 2 train, view 3 tests; files in name order. Label = 0-based class of the action \
        (a01-a06 → 0-5, a08 → 6, a09 → 7, a11 → 8, a12 → 9); a label field that disagrees is an error.

        \(kinectV1OutputHelp)
        """)

    @OptionGroup var options: KinectV1PrepareOptions

    func run() throws {
        try options.run { try DatasetPreparation.prepareNWUCLA(input: options.skeletons, outputDirectory: options.out, options: $0, progress: $1) }
    }
}
