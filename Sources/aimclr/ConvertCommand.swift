import AimCLR
import ArgumentParser
import Foundation
import NN

/// `aimclr convert IN.pt OUT.safetensors`.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (.pt/.pth, zip or legacy format) to safetensors, without Python.",
        discussion: "Tensor names are kept as they are (e.g. encoder_q.st_gcn_networks.0.gcn.conv.weight). "
            + "float64 tensors become float32; integer tensors stay int64.")

    @Argument(help: "Input checkpoint (.pt, .pth or .safetensors).") var input: String
    @Argument(help: "Output .safetensors file (written atomically).") var output: String

    func validate() throws {
        try OutputLocation.requireFile(output, flag: "output")
    }

    func run() throws {
        let tensors = try WeightsFile.read(path: input)
        let entries = tensors.keys.sorted().map { (name: $0, tensor: tensors[$0]!) }
        try SafeTensors(entries: entries, metadata: ["converted_from": URL(fileURLWithPath: input).lastPathComponent])
            .write(to: URL(fileURLWithPath: output))
        let count = entries.reduce(0) { $0 + $1.tensor.count }
        print("wrote \(output): \(entries.count) tensors, \(count) values")
    }
}
