import Foundation
import PackagePlugin

/// Embeds every `Kernels/*.cl` file of the package into the target as Swift string
/// literals, so the built binary carries its OpenCL sources and needs no source tree.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelsDir = context.package.directoryURL.appendingPathComponent("Kernels")
        let names = try FileManager.default.contentsOfDirectory(atPath: kernelsDir.path)
            .filter { $0.hasSuffix(".cl") }
            .sorted()
        let inputs = names.map { kernelsDir.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedKernels.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) OpenCL kernel files",
                executable: try context.tool(named: "EmbedKernelsTool").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
