import Foundation

/// A sample read from a Kinect v1 dataset, before the layout mapping and frame50.
struct KinectV1Sample {
    var name: String
    var label: Int
    var recording: KinectV1Recording
    /// Where it came from, for skip reasons (a file, or a label file line).
    var origin: String
}

/// What reading one input file gave.
struct KinectV1Reading {
    var samples: [KinectV1Sample] = []
    var skipped: [SkippedSample] = []
    var notes: [String] = []
}

/// One input file of a Kinect v1 dataset, its part, and how to read it.
struct KinectV1Input {
    var file: String
    var part: DataPart
    var read: () throws -> KinectV1Reading
}

/// MSR Action3D, UTKinect-Action3D and NW-UCLA (Kinect v1, 20 joints, one body) → the same
/// part files as `prepareNTU`, in the layout `options.kinectV1Layout`: V = 20 (`kinect-v1`) or
/// 25 (`ntu-rgb+d`), M = 2 with the second slot zero. Untracked frames (a joint at exactly
/// (0, 0, 0)) are dropped before the frame50 normalisation, which centres on the layout's
/// shoulder centre / spine shoulder.
extension DatasetPreparation {
    /// MSR Action3D (`aAA_sSS_eEE_skeleton3D.txt`), cross-subject: odd subjects train, even
    /// subjects test. Label = action − 1 (20 classes). `input` is the folder, or the archive.
    public static func prepareMSRAction3D(input: String, outputDirectory: String, options: PrepareOptions = PrepareOptions(),
                                          progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareReport {
        let source = try DatasetInput.locate(input, what: "MSR Action3D aAA_sSS_eEE_skeleton3D.txt files") { MSRSampleName($0) != nil }
        return try source.use { dir in
            var files = try DatasetInput.list(dir).filter { MSRSampleName($0) != nil }
            var report = PrepareReport()
            if options.msrPaperSubset {
                let list = dir + "/files_used_in_cvpr12_paper.txt"
                let listed = Set(try NTUSampleList.readNames(list))
                guard !listed.isEmpty else { throw SkeletonFileError(file: list, line: 0, reason: "lists no sequences") }
                let before = files.count
                files = files.filter { listed.contains(MSRSampleName($0)!.stem) }
                report.notes.append("\(list): kept the \(files.count) listed sequences of \(before)")
            }
            var inputs: [KinectV1Input] = []
            for file in files {
                let name = MSRSampleName(file)!, path = dir + "/" + file
                guard (1...20).contains(name.action) else {
                    report.skipped.append(SkippedSample(file: path, reason: "\(path): action a\(String(format: "%02d", name.action)) is outside a01-a20"))
                    continue
                }
                inputs.append(KinectV1Input(file: path, part: MSRAction3DReader.part(subject: name.subject)) {
                    KinectV1Reading(samples: [KinectV1Sample(name: name.stem, label: name.action - 1,
                                                             recording: try MSRAction3DReader.read(path: path), origin: path)])
                })
            }
            try makeOutputDirectory(outputDirectory)
            try writeKinectV1(inputs, classNames: MSRAction3DReader.classNames, outputDirectory: outputDirectory, options: options, progress: progress, report: &report)
            return report
        }
    }

    /// UTKinect-Action3D: each labelled action of a `joints_sSS_eEE.txt` file (the frames whose
    /// ID lies in its inclusive range) is one sample named `sSS_eEE_action`; label = the action's
    /// index in `UTKinectReader.classNames`. Cross-subject: odd subjects train, even test.
    /// Ranges given as `NaN NaN` are left out with a note.
    public static func prepareUTKinect(input: String, outputDirectory: String, options: PrepareOptions = PrepareOptions(),
                                       progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareReport {
        let source = try DatasetInput.locate(input, what: "UTKinect joints_sSS_eEE.txt files") { UTKinectReader.sequence(ofJointFile: $0) != nil }
        return try source.use { dir in
            let labelFile: String
            if let given = options.utkinectLabels {
                labelFile = given
            } else if let found = ["actionLabel_modified.txt", "actionLabel.txt"].map({ dir + "/" + $0 }).first(where: FileManager.default.fileExists) {
                labelFile = found
            } else {
                throw SkeletonFileError(file: dir, line: 0, reason: "no actionLabel_modified.txt or actionLabel.txt; pass the label file")
            }
            let actions = try UTKinectReader.readLabels(path: labelFile)
            var report = PrepareReport()
            report.notes.append("labels: \(labelFile)")
            let jointFiles = Set(try DatasetInput.list(dir))
            var order: [String] = []
            var bySequence: [String: [UTKinectAction]] = [:]
            for a in actions {
                if bySequence[a.sequence] == nil { order.append(a.sequence) }
                bySequence[a.sequence, default: []].append(a)
            }
            var inputs: [KinectV1Input] = []
            var missing = 0
            for seq in order.sorted() {
                let listed = bySequence[seq]!, file = "joints_\(seq).txt", path = dir + "/" + file
                guard jointFiles.contains(file) else {
                    report.skipped.append(SkippedSample(file: path, reason: "\(path): missing; its \(listed.count) labelled action(s) are left out"))
                    missing += 1
                    continue
                }
                inputs.append(KinectV1Input(file: path, part: UTKinectReader.part(subject: listed[0].subject)) {
                    let joints = try UTKinectReader.readJoints(path: path)
                    var r = KinectV1Reading()
                    for a in listed {
                        let origin = "\(labelFile):\(a.line)"
                        guard let ids = a.frameIDs else {
                            r.notes.append("\(origin): \(a.sequence) \(UTKinectReader.classNames[a.label]) has no frame range (NaN); left out")
                            continue
                        }
                        let cut = joints.cut(ids)
                        guard cut.frameCount > 0 else {
                            r.skipped.append(SkippedSample(file: labelFile, reason: "\(origin): \(a.sequence) \(UTKinectReader.classNames[a.label]): no frame of \(path) has an ID in \(ids.lowerBound)...\(ids.upperBound)"))
                            continue
                        }
                        r.samples.append(KinectV1Sample(name: a.name, label: a.label, recording: cut, origin: origin))
                    }
                    return r
                })
            }
            if missing > 0, let archive = jointFiles.sorted().first(where: DatasetInput.isArchive) {
                report.notes.append("\(dir): \(missing) labelled sequence(s) have no joint file here; pass \(dir)/\(archive) as the input to use the whole set")
            }
            try makeOutputDirectory(outputDirectory)
            try writeKinectV1(inputs, classNames: UTKinectReader.classNames, outputDirectory: outputDirectory, options: options, progress: progress, report: &report)
            return report
        }
    }

    /// NW-UCLA, the JSON release (`aAA_sSS_eEE_vVV.json`), cross-view: views 1 and 2 train,
    /// view 3 tests; files in name order. Label = the 0-based class of the action number.
    public static func prepareNWUCLA(input: String, outputDirectory: String, options: PrepareOptions = PrepareOptions(),
                                     progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareReport {
        let source = try DatasetInput.locate(input, what: "NW-UCLA .json files") { $0.lowercased().hasSuffix(".json") }
        return try source.use { dir in
            var report = PrepareReport()
            var inputs: [KinectV1Input] = []
            for file in try DatasetInput.list(dir) where file.lowercased().hasSuffix(".json") {
                let path = dir + "/" + file
                let stem = String(file.dropLast(".json".count))
                guard let name = NWUCLASampleName(stem), (1...3).contains(name.view) else {
                    report.skipped.append(SkippedSample(file: path, reason: "\(path): name does not follow aAA_sSS_eEE_vVV with view 1-3"))
                    continue
                }
                inputs.append(KinectV1Input(file: path, part: NWUCLAReader.part(view: name.view)) {
                    let seq = try NWUCLAReader.read(path: path)
                    guard seq.name.stem == stem else {
                        throw SkeletonFileError(file: path, line: 0, reason: "file_name '\(seq.name.stem)' differs from the file's name")
                    }
                    return KinectV1Reading(samples: [KinectV1Sample(name: stem, label: seq.label, recording: seq.recording, origin: path)])
                })
            }
            try makeOutputDirectory(outputDirectory)
            try writeKinectV1(inputs, classNames: NWUCLAReader.classNames, outputDirectory: outputDirectory, options: options, progress: progress, report: &report)
            return report
        }
    }

    /// Reads each input of each part, maps its samples onto the output layout and writes them.
    static func writeKinectV1(_ inputs: [KinectV1Input], classNames: [String], outputDirectory: String, options: PrepareOptions,
                              progress: ((PrepareProgress) -> Void)?, report: inout PrepareReport) throws {
        let target = options.kinectV1Layout
        var frame50 = try Frame50(layout: target.layout)
        frame50.targetFrames = options.frame50.targetFrames
        frame50.yRotation = options.frame50.yRotation
        var cropped = 0
        for part in options.parts {
            let mine = inputs.filter { $0.part == part }
            let skippedBefore = report.skipped.count
            let writer = try PartWriter(part: part, directory: outputDirectory, frames: frame50.targetFrames, rawFrames: options.maxFrames,
                                        joints: target.layout.jointCount, bodies: options.kinectV1Bodies,
                                        writeRaw: options.writeRawArrays)
            for (i, input) in mine.enumerated() {
                do {
                    let reading = try input.read()
                    report.skipped += reading.skipped
                    report.notes += reading.notes
                    for s in reading.samples {
                        let (tracked, dropped) = s.recording.droppingUntrackedFrames()
                        guard tracked.frameCount > 0 else {
                            report.skipped.append(SkippedSample(file: input.file, reason: "\(s.origin): no tracked frame (every one of its \(s.recording.frameCount) frames has a joint at exactly 0, 0, 0)"))
                            continue
                        }
                        let block = target.sample(tracked, maxFrames: options.maxFrames, bodies: options.kinectV1Bodies)
                        do {
                            try writer.add(raw: block.values, validFrames: block.frames, name: s.name, label: s.label, frame50: frame50)
                            report.droppedFrames += dropped
                            if tracked.frameCount > options.maxFrames { cropped += 1 }
                        } catch let e as Frame50.Failure {
                            report.skipped.append(SkippedSample(file: input.file, reason: "\(s.origin): \(e)"))
                        }
                    }
                } catch let e as SkeletonFileError {
                    report.skipped.append(SkippedSample(file: e.file, reason: e.description))
                }
                progress?(PrepareProgress(part: part, done: i + 1, total: mine.count, written: writer.names.count,
                                          skipped: report.skipped.count - skippedBefore, unit: "files"))
            }
            report.outputs += try writer.finish()
            report.written[part] = writer.names.count
            report.statistics[part] = writer.statistics
            progress?(PrepareProgress(part: part, done: mine.count, total: mine.count, written: writer.names.count,
                                      skipped: report.skipped.count - skippedBefore, unit: "files", finished: true))
        }
        // The class names by label, one per line, for `aimclr report --class-names`.
        let names = outputDirectory + "/class_names.txt"
        do { try (classNames.joined(separator: "\n") + "\n").write(toFile: names, atomically: true, encoding: .utf8) } catch {
            throw SkeletonFileError(file: names, line: 0, reason: "cannot write (\(error.localizedDescription))")
        }
        report.outputs.append(names)
        if cropped > 0 { report.notes.append("\(cropped) sequence(s) longer than \(options.maxFrames) tracked frames were centre-cropped to \(options.maxFrames)") }
    }
}
