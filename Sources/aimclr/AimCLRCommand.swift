import AimCLR
import ArgumentParser

@main
struct AimCLRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aimclr",
        abstract: "AimCLR self-supervised skeleton action representation learning (ST-GCN, MoCo, EADM, D3M, NNM).",
        discussion: """
        Every heavy op runs on the selected device: `--device auto` picks the first OpenCL GPU and \
        otherwise the CPU backend (OpenBLAS); `cpu`, `opencl` and `opencl:N` choose explicitly.
        """,
        version: AimCLRVersion.description,
        subcommands: [DemoCommand.self, DevicesCommand.self, SynthCommand.self, PrepareCommand.self, InspectCommand.self,
                      PretrainCommand.self, TrainCommand.self, LinearCommand.self, KNNCommand.self, FinetuneCommand.self,
                      EnsembleCommand.self, EmbedCommand.self, ReportCommand.self, ConvertCommand.self, BenchCommand.self, TuneCommand.self])
}
