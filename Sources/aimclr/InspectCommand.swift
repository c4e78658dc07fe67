import AimCLR
import ArgumentParser
import Foundation
import NN
import Skeleton

/// `aimclr inspect FILE`: what is in a data or checkpoint file.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a .npy array, a .pkl label file, a .safetensors or PyTorch .pt checkpoint or an NTU .skeleton file.",
        discussion: """
        .npy: shape, dtype, min/max/mean, NaN, inf and zero counts (and, for (N, 3, T, V, M) skeleton \
        arrays, samples with a second body). .pkl: sample and class counts, first names. .safetensors: \
        tensor names, dtypes and shapes; .pt / .pth: the same for the state dict. .skeleton: frames, bodies and the fields of the name.
        """)

    @Argument(help: "Files to inspect.") var files: [String]

    /// PyTorch checkpoints are read here (the reader lives with the models); the rest by `FileSummary`.
    static func describe(_ path: String) throws -> [String] {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard ext == "pt" || ext == "pth" else { return try FileSummary.describe(path: path) }
        let tensors = try WeightsFile.read(path: path)
        var lines = ["\(path): PyTorch checkpoint, \(tensors.count) tensors"]
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let dtype: String
            switch t.storage { case .float32: dtype = "F32"; case .int64: dtype = "I64" }
            lines.append("  \(name)  \(dtype)  \(t.shape)")
        }
        lines.append("  \(tensors.values.reduce(0) { $0 + $1.count }) elements in all")
        return lines
    }

    /// Every file is tried; a failing one prints one error line and makes the exit status 1.
    func run() throws {
        var failed = false
        for f in files {
            do {
                for line in try reportingErrors(f, { try Self.describe(f) }) { print(line) }
            } catch {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}
