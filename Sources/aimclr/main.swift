import ArgumentParser

@main
struct AimCLRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aimclr",
        abstract: "AimCLR self-supervised skeleton action representation learning.",
        subcommands: [])
}
