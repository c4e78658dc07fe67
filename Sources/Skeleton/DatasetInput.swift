import Foundation

/// The folder holding a small dataset's files, found from what a user has: the folder itself,
/// a folder whose one subfolder holds them (an unpacked archive's top folder), a `.tar`,
/// `.tar.xz`, `.tar.gz` (`.txz`, `.tgz`) archive, or a folder holding one such archive and none
/// of the files. Archives are unpacked with `tar` into a temporary folder that `remove()` deletes.
public struct DatasetInput {
    /// The folder with the files.
    public let folder: String
    /// The archive unpacked to find them, if any.
    public let archive: String?
    private let temporary: String?

    static let archiveSuffixes = [".tar", ".tar.xz", ".txz", ".tar.gz", ".tgz"]

    static func isArchive(_ name: String) -> Bool { archiveSuffixes.contains { name.lowercased().hasSuffix($0) } }

    /// Locates the folder whose entries satisfy `matches` (at least one); `what` names the
    /// files in errors, e.g. "MSR Action3D aAA_sSS_eEE_skeleton3D.txt files".
    public static func locate(_ path: String, what: String, matches: (String) -> Bool) throws -> DatasetInput {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SkeletonFileError(file: path, line: 0, reason: "no such file or folder")
        }
        if !isDir.boolValue {
            guard isArchive(path) else {
                throw SkeletonFileError(file: path, line: 0, reason: "expected a folder of \(what) or a .tar/.tar.xz/.tar.gz archive of them")
            }
            return try unpack(path, what: what, matches: matches)
        }
        if let found = try search(path, matches: matches) { return DatasetInput(folder: found, archive: nil, temporary: nil) }
        let archives = try list(path).filter(isArchive)
        if archives.count == 1 { return try unpack(path + "/" + archives[0], what: what, matches: matches) }
        let hint = archives.isEmpty ? "" : " (it holds \(archives.count) archives; pass the one to use)"
        throw SkeletonFileError(file: path, line: 0, reason: "no \(what) here or in a subfolder\(hint)")
    }

    /// `text` with the temporary folder's path replaced by the archive's, so messages name
    /// `archive.tar.xz/member` instead of a folder that is gone once the run ends.
    public func display(_ text: String) -> String {
        guard let temporary, let archive else { return text }
        return text.replacingOccurrences(of: temporary, with: archive)
    }

    /// The report with every path shown through `display`.
    func displaying(_ report: PrepareReport) -> PrepareReport {
        var r = report
        r.skipped = r.skipped.map { SkippedSample(file: display($0.file), reason: display($0.reason)) }
        r.notes = r.notes.map(display)
        return r
    }

    /// Runs `body` on this input, then deletes any unpacked copy; the report and any error
    /// name files through `display`.
    func use(_ body: (String) throws -> PrepareReport) throws -> PrepareReport {
        defer { remove() }
        do { return displaying(try body(folder)) } catch let e as SkeletonFileError {
            throw SkeletonFileError(file: display(e.file), line: e.line, reason: display(e.reason))
        }
    }

    /// Deletes the unpacked copy, if one was made.
    public func remove() {
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
    }

    static func list(_ dir: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: dir).sorted() } catch {
            throw SkeletonFileError(file: dir, line: 0, reason: "cannot list the folder (\(error.localizedDescription))")
        }
    }

    /// `dir` when it holds matching files, else its one subfolder that does.
    static func search(_ dir: String, matches: (String) -> Bool) throws -> String? {
        let entries = try list(dir)
        if entries.contains(where: matches) { return dir }
        let subfolders = entries.map { dir + "/" + $0 }.filter { p in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: p, isDirectory: &isDir) && isDir.boolValue
        }
        let hits = subfolders.filter { ((try? list($0)) ?? []).contains(where: matches) }
        guard hits.count <= 1 else {
            throw SkeletonFileError(file: dir, line: 0, reason: "several subfolders hold the files (\(hits.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "))); pass one of them")
        }
        return hits.first
    }

    static func unpack(_ archive: String, what: String, matches: (String) -> Bool) throws -> DatasetInput {
        let temp = NSTemporaryDirectory() + "aimclr-unpack-\(UUID().uuidString)"
        do { try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true) } catch {
            throw SkeletonFileError(file: temp, line: 0, reason: "cannot create a temporary folder (\(error.localizedDescription))")
        }
        do {
            try runTar(archive: archive, into: temp)
            guard let found = try search(temp, matches: matches) else {
                throw SkeletonFileError(file: archive, line: 0, reason: "the archive holds no \(what)")
            }
            return DatasetInput(folder: found, archive: archive, temporary: temp)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
    }

    /// Runs `tar -xf archive -C folder` (tar picks the decompressor from the archive).
    static func runTar(archive: String, into folder: String) throws {
        let candidates = ["/usr/bin/tar", "/bin/tar", "/usr/local/bin/tar"]
        guard let tar = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SkeletonFileError(file: archive, line: 0, reason: "no tar program found (looked for \(candidates.joined(separator: ", "))); unpack the archive and pass the folder")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tar)
        process.arguments = ["-xf", archive, "-C", folder]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw SkeletonFileError(file: archive, line: 0, reason: "cannot run \(tar) (\(error.localizedDescription))")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw SkeletonFileError(file: archive, line: 0, reason: "cannot unpack (tar exit status \(process.terminationStatus)\(text.isEmpty ? "" : ": " + text))")
        }
    }
}
