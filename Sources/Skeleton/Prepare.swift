import Foundation

/// A sample the preparation skipped, with the reason (usually "file:line: ...").
public struct SkippedSample: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { reason.hasPrefix(file) ? reason : "\(file): \(reason)" }
}

/// What a preparation run wrote and skipped.
public struct PrepareReport: Sendable {
    /// Samples written per part.
    public var written: [DataPart: Int] = [:]
    /// Samples ignored because they are on the missing-skeleton list.
    public var ignored = 0
    public var skipped: [SkippedSample] = []
    /// Files written (final paths).
    public var outputs: [String] = []
    /// Classes and sequence lengths per part.
    public var statistics: [DataPart: PartStatistics] = [:]
    /// Frames left out of the written samples as untracked (Kinect v1 datasets).
    public var droppedFrames = 0
    /// Remarks on inputs left out on purpose (e.g. an unlabelled range), one per line.
    public var notes: [String] = []

    public var summary: String {
        let parts = DataPart.allCases.compactMap { p in written[p].map { "\(p.rawValue) \($0)" } }.joined(separator: ", ")
        var s = "wrote \(parts); skipped \(skipped.count) bad sample(s)"
        if ignored > 0 { s += "; ignored \(ignored) listed sample(s)" }
        if droppedFrames > 0 { s += "; dropped \(droppedFrames) untracked frame(s)" }
        return s
    }

    /// One line per part: samples, classes and frames min/median/max.
    public var partLines: [String] {
        DataPart.allCases.compactMap { p in statistics[p].map { "\(p.rawValue): \($0)" } }
    }
}

/// What one written part holds: sample count, distinct classes and the valid frame counts
/// of its sequences (before the resize to the target length).
public struct PartStatistics: Sendable, Equatable, CustomStringConvertible {
    public var samples: Int
    public var classes: Int
    public var minFrames: Int
    public var medianFrames: Double
    public var maxFrames: Int

    public init(labels: [Int], frames: [Int]) {
        samples = labels.count
        classes = Set(labels).count
        let sorted = frames.sorted()
        minFrames = sorted.first ?? 0
        maxFrames = sorted.last ?? 0
        let n = sorted.count
        medianFrames = n == 0 ? 0 : n % 2 == 1 ? Double(sorted[n / 2]) : Double(sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    public var description: String {
        let median = medianFrames.rounded() == medianFrames ? String(Int(medianFrames)) : String(format: "%.1f", medianFrames)
        return "\(samples) samples, \(classes) classes, frames min/median/max \(minFrames)/\(median)/\(maxFrames)"
    }
}

/// Where a preparation run stands, reported after every input (a `.skeleton` file for NTU,
/// a recording for PKU-MMD) and once more when a part is written.
public struct PrepareProgress: Sendable, Equatable {
    public var part: DataPart
    /// Inputs of this part processed so far, out of `total`.
    public var done: Int
    public var total: Int
    /// Samples written to this part so far.
    public var written: Int
    /// Bad samples skipped so far in this part.
    public var skipped: Int
    /// What an input is: "files" or "recordings".
    public var unit: String
    /// True on the last report of a part, after its files are in place.
    public var finished: Bool

    public init(part: DataPart, done: Int, total: Int, written: Int, skipped: Int, unit: String, finished: Bool = false) {
        self.part = part; self.done = done; self.total = total; self.written = written
        self.skipped = skipped; self.unit = unit; self.finished = finished
    }

    /// One status line, e.g. `train: 1200/40091 files (3.0%), 1198 written, 2 skipped, 410/s, ETA 1m35s`.
    public func line(elapsedSeconds: Double) -> String {
        let pct = total > 0 ? 100 * Double(done) / Double(total) : 100
        var s = "\(part.rawValue): \(done)/\(total) \(unit) (\(String(format: "%.1f", pct))%), \(written) written, \(skipped) skipped"
        guard elapsedSeconds > 0, done > 0 else { return s }
        let rate = Double(done) / elapsedSeconds
        s += String(format: ", %.0f/s", rate)
        if !finished && done < total {
            let eta = Int((Double(total - done) / rate).rounded())
            s += ", ETA " + (eta >= 60 ? "\(eta / 60)m\(String(format: "%02d", eta % 60))s" : "\(eta)s")
        } else {
            s += String(format: ", %.1fs", elapsedSeconds)
        }
        return s
    }
}

/// Options for `DatasetPreparation.prepareNTU` / `preparePKU`.
public struct PrepareOptions: Sendable {
    /// Parts to produce.
    public var parts: [DataPart] = [.train, .val]
    /// Also write the raw `(N, 3, maxFrames, 25, 2)` ST-GCN arrays as `{part}_data.npy`.
    public var writeRawArrays = true
    /// Frames of the raw arrays (300 in the reference).
    public var maxFrames = 300
    /// The frame50 normalisation used for `{part}_position.npy`.
    public var frame50 = Frame50()
    /// PKU only: treat label end frames as inclusive.
    public var pkuEndInclusive = false
    /// Kinect v1 datasets: the joint layout written (their own 20 joints, or mapped onto NTU-25).
    public var kinectV1Layout = KinectV1OutputLayout.kinectV1
    /// Body slots M of the Kinect v1 part files: 2 (NTU's shape, the second slot zero) or 1. The
    /// empty slot adds the same features to every sample's representation (see the README's
    /// small-data section).
    public var kinectV1Bodies = 2
    /// MSR Action3D only: keep just the sequences `files_used_in_cvpr12_paper.txt` lists.
    public var msrPaperSubset = false
    /// UTKinect only: the label file (default: the data folder's `actionLabel_modified.txt`,
    /// else its `actionLabel.txt`).
    public var utkinectLabels: String?
    public init() {}
}

/// Writes one part's arrays and label file, one sample at a time, into temporary files that
/// are renamed into place only when the part completes.
final class PartWriter {
    let part: DataPart
    let directory: String
    private let position: NpyWriter
    private let raw: NpyWriter?
    private(set) var names: [String] = []
    private(set) var labels: [Int] = []
    /// Valid frames of every written sample, for the summary.
    private(set) var lengths: [Int] = []
    let frames: Int, joints: Int, bodies: Int, rawFrames: Int

    init(part: DataPart, directory: String, frames: Int, rawFrames: Int, joints: Int = 25, bodies: Int = 2, writeRaw: Bool) throws {
        self.part = part; self.directory = directory
        self.frames = frames; self.rawFrames = rawFrames; self.joints = joints; self.bodies = bodies
        position = try NpyWriter(path: "\(directory)/\(part.rawValue)_position.npy", dtype: .float32, shape: [0, 3, frames, joints, bodies])
        raw = writeRaw ? try NpyWriter(path: "\(directory)/\(part.rawValue)_data.npy", dtype: .float32, shape: [0, 3, rawFrames, joints, bodies]) : nil
    }

    /// Normalises and appends one padded raw sample holding `validFrames` recorded frames (nil:
    /// not known, left out of the statistics); throws (writing nothing) if it cannot be normalised.
    func add(raw sample: [Float], validFrames: Int? = nil, name: String, label: Int, frame50: Frame50) throws {
        let pos = try frame50.apply(sample, frames: rawFrames, joints: joints, bodies: bodies)
        try position.append(floats: pos)
        try raw?.append(floats: sample)
        names.append(name); labels.append(label)
        if let validFrames { lengths.append(validFrames) }
    }

    var statistics: PartStatistics { PartStatistics(labels: labels, frames: lengths) }

    func finish() throws -> [String] {
        try position.finish(outerCount: names.count)
        var out = [position.path]
        if let raw { try raw.finish(outerCount: names.count); out.append(raw.path) }
        let pkl = "\(directory)/\(part.rawValue)_label.pkl"
        try LabelFile(names: names, labels: labels).write(to: pkl)
        out.append(pkl)
        return out
    }
}

/// Raw dataset → training arrays: `{train,val}_position.npy` (N, 3, 50, 25, 2) float32 (frame50),
/// `{train,val}_label.pkl` `(names, labels)`, and optionally the ST-GCN `{train,val}_data.npy`
/// (N, 3, 300, 25, 2). Peak memory is one sample plus write buffers.
public enum DatasetPreparation {
    /// Creates `path` (and parents), failing with an error that names it.
    static func makeOutputDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw SkeletonFileError(file: path, line: 0, reason: "cannot create the output folder (\(error.localizedDescription))")
        }
    }

    /// NTU RGB+D: every `*.skeleton` file of `rawDirectory`, in sorted order, split by `benchmark`.
    /// Samples named in `missingSkeletons` (a list file, e.g. `samples_with_missing_skeletons.txt`)
    /// are ignored as the reference does. Malformed files are skipped and reported.
    public static func prepareNTU(rawDirectory: String, outputDirectory: String, benchmark: NTUBenchmark,
                                  missingSkeletons: String? = nil, options: PrepareOptions = PrepareOptions(),
                                  progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareReport {
        let listing: [String]
        do { listing = try FileManager.default.contentsOfDirectory(atPath: rawDirectory) } catch {
            throw SkeletonFileError(file: rawDirectory, line: 0, reason: "cannot list the skeleton directory (\(error.localizedDescription))")
        }
        guard listing.contains(where: { $0.hasSuffix(".skeleton") }) else {
            throw SkeletonFileError(file: rawDirectory, line: 0,
                                    reason: "no .skeleton files (expected the unpacked nturgb+d_skeletons folder of the NTU RGB+D download)")
        }
        let ignored = Set(try missingSkeletons.map(NTUSampleList.readNames) ?? [])
        // Created only now: a missing or empty input must not leave an empty output folder behind.
        try makeOutputDirectory(outputDirectory)
        var report = PrepareReport()
        for part in options.parts {
            let skippedBefore = report.skipped.count
            let selection = try NTUSampleList.select(directory: rawDirectory, benchmark: benchmark, part: part, ignored: ignored)
            if part == options.parts.first {
                report.skipped += selection.unparsable.map {
                    SkippedSample(file: rawDirectory + "/" + $0, reason: "\(rawDirectory)/\($0): name does not follow SsssCcccPpppRrrrAaaa")
                }
                report.ignored = listing.filter { $0.hasSuffix(".skeleton") && NTUSampleName($0).map { ignored.contains($0.stem) } == true }.count
            }
            let writer = try PartWriter(part: part, directory: outputDirectory, frames: options.frame50.targetFrames,
                                        rawFrames: options.maxFrames, writeRaw: options.writeRawArrays)
            for (i, file) in selection.files.enumerated() {
                let path = rawDirectory + "/" + file
                do {
                    let seq = try NTUSkeletonReader.read(path: path, maxFrames: options.maxFrames)
                    try writer.add(raw: seq.padded(to: options.maxFrames), validFrames: min(seq.frameCount, options.maxFrames),
                                   name: file, label: NTUSampleName(file)!.label, frame50: options.frame50)
                } catch let e as SkeletonFileError {
                    report.skipped.append(SkippedSample(file: path, reason: e.description))
                } catch let e as Frame50.Failure {
                    report.skipped.append(SkippedSample(file: path, reason: "\(path): \(e)"))
                }
                progress?(PrepareProgress(part: part, done: i + 1, total: selection.files.count, written: writer.names.count,
                                          skipped: report.skipped.count - skippedBefore, unit: "files"))
            }
            report.outputs += try writer.finish()
            report.written[part] = writer.names.count
            report.statistics[part] = writer.statistics
            progress?(PrepareProgress(part: part, done: selection.files.count, total: selection.files.count, written: writer.names.count,
                                      skipped: report.skipped.count - skippedBefore, unit: "files", finished: true))
        }
        return report
    }

    /// PKU-MMD: for each recording id of the split file (training ids on line 2, test on line 4),
    /// reads `skeletonDirectory/{id}.txt` and `labelDirectory/{id}.txt`, cuts each action into a
    /// sample (centre-cropped to 300 frames), and writes the same files as `prepareNTU`.
    public static func preparePKU(skeletonDirectory: String, labelDirectory: String, splitFile: String,
                                  outputDirectory: String, options: PrepareOptions = PrepareOptions(),
                                  progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareReport {
        for (dir, what) in [(skeletonDirectory, "skeleton"), (labelDirectory, "label")] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw SkeletonFileError(file: dir, line: 0, reason: "no such \(what) directory")
            }
        }
        let split = try PKUReader.readSplit(path: splitFile)
        try makeOutputDirectory(outputDirectory) // only once the inputs are known to exist
        var report = PrepareReport()
        for part in options.parts {
            let skippedBefore = report.skipped.count
            let ids = part == .train ? split.train : split.val
            let writer = try PartWriter(part: part, directory: outputDirectory, frames: options.frame50.targetFrames,
                                        rawFrames: options.maxFrames, writeRaw: options.writeRawArrays)
            for (i, id) in ids.enumerated() {
                let skel = skeletonDirectory + "/" + id + ".txt", lab = labelDirectory + "/" + id + ".txt"
                do {
                    let seq = try PKUReader.readSkeleton(path: skel)
                    let actions = try PKUReader.readLabels(path: lab)
                    for (k, a) in actions.enumerated() {
                        let cut = PKUReader.cut(seq, action: a, maxFrames: options.maxFrames, endInclusive: options.pkuEndInclusive)
                        let name = PKUReader.sampleName(recording: id, classID: a.classID, index: k)
                        do {
                            try writer.add(raw: cut.values, validFrames: cut.frames, name: name, label: a.classID - 1, frame50: options.frame50)
                        } catch let e as Frame50.Failure {
                            report.skipped.append(SkippedSample(file: lab, reason: "\(lab): action \(k + 1) (\(a.start)..<\(a.end)): \(e)"))
                        }
                    }
                } catch let e as SkeletonFileError {
                    report.skipped.append(SkippedSample(file: e.file, reason: e.description))
                }
                progress?(PrepareProgress(part: part, done: i + 1, total: ids.count, written: writer.names.count,
                                          skipped: report.skipped.count - skippedBefore, unit: "recordings"))
            }
            report.outputs += try writer.finish()
            report.written[part] = writer.names.count
            report.statistics[part] = writer.statistics
            progress?(PrepareProgress(part: part, done: ids.count, total: ids.count, written: writer.names.count,
                                      skipped: report.skipped.count - skippedBefore, unit: "recordings", finished: true))
        }
        return report
    }
}
