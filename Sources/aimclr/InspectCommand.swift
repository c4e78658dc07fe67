import ArgumentParser
import Foundation
import Skeleton

/// `aimclr inspect FILE`: what is in a data or checkpoint file.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a .npy array, a .pkl label file, a .safetensors checkpoint or an NTU .skeleton file.",
        discussion: """
        .npy: shape, dtype, min/max/mean, NaN, inf and zero counts (and, for (N, 3, T, V, M) skeleton \
        arrays, samples with a second body). .pkl: sample and class counts, first names. .safetensors: \
        tensor names, dtypes and shapes. .skeleton: frames, bodies and the fields of the name.
        """)

    @Argument(help: "Files to inspect.") var files: [String]

    /// Every file is tried; a failing one prints one error line and makes the exit status 1.
    func run() throws {
        var failed = false
        for f in files {
            do {
                for line in try reportingErrors(f, { try FileSummary.describe(path: f) }) { print(line) }
            } catch {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}
