import ArgumentParser
import Foundation
import Skeleton

/// `aimclr synth`: the built-in synthetic dataset.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write the deterministic synthetic NTU-25 dataset (prepared format) for demos and tests.",
        discussion: """
        Writes {train,val}_position.npy (N, 3, 50, 25, 2) float32 and {train,val}_label.pkl, exactly as \
        `prepare` does. The classes share their resting postures and differ in their dynamics; train and \
        val use disjoint subjects. The same seed gives byte-identical files. At the end it prints the \
        nearest-class-mean accuracy of two hand-made features on val: the mean pose (static posture, \
        should stay near chance) and the per-joint motion energy (which joints move).
        """)

    @Option(help: ArgumentHelp("Output folder (created if missing).", valueName: "dir")) var out: String
    @Option(parsing: .unconditional, help: "Training samples.") var train: Int = 2048
    @Option(parsing: .unconditional, help: "Validation samples.") var val: Int = 512
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func validate() throws {
        guard train >= 1, val >= 1 else { throw CommandFailure("--train and --val must be at least 1") }
        try OutputLocation.requireFolder(out, flag: "--out")
    }

    func run() throws {
        var config = SyntheticConfig()
        config.trainCount = train; config.valCount = val; config.seed = seed
        let start = Date()
        let report = try reportingErrors(out) { try SyntheticDataset.generate(config, to: out) }
        print("Classes (label: name, what moves):")
        for a in config.actions { print(String(format: "  %2d: %@ - %@", a.rawValue, a.name, a.summary)) }
        print("Wrote to \(out): " + report.outputs.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "))
        print("train \(train) samples (subjects 0-\(config.subjects - config.valSubjects - 1)), "
              + "val \(val) samples (subjects \(config.subjects - config.valSubjects)-\(config.subjects - 1)), seed \(seed)"
              + String(format: " (%.1f s)", Date().timeIntervalSince(start)))
        let trainSet = try reportingErrors(out) { try SkeletonDataset.open(directory: out, part: .train) }
        let valSet = try reportingErrors(out) { try SkeletonDataset.open(directory: out, part: .val) }
        let pose = ClassSeparability.nearestClassMeanAccuracy(train: trainSet, val: valSet, feature: .meanPose)
        let motion = ClassSeparability.nearestClassMeanAccuracy(train: trainSet, val: valSet, feature: .velocityEnergy)
        print(String(format: "Nearest-class-mean on val: mean pose %.3f, motion energy %.3f (chance %.3f)",
                     pose, motion, 1 / Double(config.actions.count)))
    }
}
