import ArgumentParser
import Foundation
import Skeleton

/// `aimclr prepare ntu|pku|msr|utkinect|nwucla`: raw downloads → the training arrays.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn an official skeleton download (NTU RGB+D, PKU-MMD, MSR Action3D, UTKinect-Action3D, NW-UCLA) into training arrays.",
        discussion: """
        Writes into --out, per part (train, val):
          {part}_position.npy  float32 (N, 3, 50, V, 2): the frame50 normalisation AimCLR trains on
                               (V = 25; 20 for the Kinect v1 datasets unless --layout ntu-rgb+d)
          {part}_label.pkl     pickled (names, labels), labels 0-based
          {part}_data.npy      float32 (N, 3, 300, 25, 2) ST-GCN arrays, only with --keep-stgcn-arrays
        Samples are streamed one at a time into temporary files renamed into place when a part is \
        complete, so memory stays small (tens of MB) whatever the dataset size. Disk: 30 KB per sample \
        for the position arrays (1.7 GB for all of NTU-60, 3.4 GB for NTU-120), 180 KB more per sample \
        with --keep-stgcn-arrays (10 GB for NTU-60, 21 GB for NTU-120).
        """,
        subcommands: [PrepareNTUCommand.self, PreparePKUCommand.self, PrepareMSRCommand.self,
                      PrepareUTKinectCommand.self, PrepareNWUCLACommand.self])
}

struct PrepareNTUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ntu",
        abstract: "Prepare NTU RGB+D 60/120 from the unpacked .skeleton files.",
        discussion: """
        --skeletons is the folder of SsssCcccPpppRrrrAaaa.skeleton files (nturgb+d_skeletons/, for NTU-120 \
        both archives unpacked into one folder). Benchmarks: xsub and xview (NTU-60), xsub120 and xset120 \
        (NTU-120). --missing names the official samples_with_missing_skeletons.txt (NTU-60) or \
        NTU_RGBD120_samples_with_missing_skeletons.txt; listed samples are left out as the reference does. \
        Malformed files are skipped and listed at the end as file:line: reason.

        Outputs: {train,val}_position.npy (N, 3, FRAMES, 25, 2) float32 after the frame50 normalisation, \
        {train,val}_label.pkl, and with --keep-stgcn-arrays {train,val}_data.npy (N, 3, 300, 25, 2) float32. \
        Memory: one sample plus write buffers (peak resident memory about 30 MB, independent of the \
        number of files); disk: 30 KB per sample for the position arrays (1.7 GB for NTU-60, 3.4 GB for \
        NTU-120), 180 KB more per sample with --keep-stgcn-arrays.
        """)

    @Option(help: ArgumentHelp("Folder with the raw .skeleton files.", valueName: "dir")) var skeletons: String
    @Option(help: "Evaluation protocol: xsub | xview | xsub120 | xset120.") var benchmark: NTUBenchmark
    @Option(help: ArgumentHelp("Output folder (created if missing).", valueName: "dir")) var out: String
    @Option(help: ArgumentHelp("List of samples with missing skeletons to leave out.", valueName: "file")) var missing: String?
    @Option(parsing: .unconditional, help: "Frames of the normalised sequences.") var frames: Int = 50
    @Flag(help: "Also write the raw 300-frame ST-GCN arrays {part}_data.npy.") var keepStgcnArrays = false

    func validate() throws {
        guard frames >= 1, frames <= 10_000 else { throw CommandFailure("--frames must be in 1...10000, got \(frames)") }
        try OutputLocation.requireFolder(out, flag: "--out")
    }

    func run() throws {
        let progress = ProgressPrinter()
        let report = try reportingErrors(out) {
            try DatasetPreparation.prepareNTU(rawDirectory: skeletons, outputDirectory: out, benchmark: benchmark,
                                              missingSkeletons: missing, options: prepareOptions(frames: frames, keepRaw: keepStgcnArrays),
                                              progress: progress.update)
        }
        printReport(report, outputDirectory: out, elapsed: progress.elapsed)
    }
}

struct PreparePKUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pku",
        abstract: "Prepare PKU-MMD from the skeleton and label text files.",
        discussion: """
        --skeletons holds {video}.txt skeleton files (one frame per line, 150 numbers), --labels the \
        {video}.txt label files (action, start, end, confidence per line), --split one of the official \
        split files (cross-subject.txt or cross-view.txt: training videos on line 2, test videos on line 4). \
        Every labelled action becomes one sample named F{video}V{view}C{class}L{index}, centre-cropped to \
        300 frames. Recordings that cannot be read are skipped and listed at the end.

        Outputs as for `prepare ntu`: {train,val}_position.npy, {train,val}_label.pkl and, with \
        --keep-stgcn-arrays, {train,val}_data.npy. Memory: one recording at a time (about 31 MB peak \
        resident for a 1,040-frame recording).
        """)

    @Option(help: ArgumentHelp("Folder with the skeleton .txt files.", valueName: "dir")) var skeletons: String
    @Option(help: ArgumentHelp("Folder with the label .txt files.", valueName: "dir")) var labels: String
    @Option(help: ArgumentHelp("Split file (training ids on line 2, test ids on line 4).", valueName: "file")) var split: String
    @Option(help: ArgumentHelp("Output folder (created if missing).", valueName: "dir")) var out: String
    @Option(parsing: .unconditional, help: "Frames of the normalised sequences.") var frames: Int = 50
    @Flag(help: "Treat label end frames as inclusive.") var endInclusive = false
    @Flag(help: "Also write the raw 300-frame ST-GCN arrays {part}_data.npy.") var keepStgcnArrays = false

    func validate() throws {
        guard frames >= 1, frames <= 10_000 else { throw CommandFailure("--frames must be in 1...10000, got \(frames)") }
        try OutputLocation.requireFolder(out, flag: "--out")
    }

    func run() throws {
        let progress = ProgressPrinter()
        var options = prepareOptions(frames: frames, keepRaw: keepStgcnArrays)
        options.pkuEndInclusive = endInclusive
        let report = try reportingErrors(out) {
            try DatasetPreparation.preparePKU(skeletonDirectory: skeletons, labelDirectory: labels, splitFile: split,
                                              outputDirectory: out, options: options, progress: progress.update)
        }
        printReport(report, outputDirectory: out, elapsed: progress.elapsed)
    }
}

/// The library options for the command-line switches.
func prepareOptions(frames: Int, keepRaw: Bool) -> PrepareOptions {
    var o = PrepareOptions()
    o.frame50.targetFrames = frames
    o.writeRawArrays = keepRaw
    return o
}
