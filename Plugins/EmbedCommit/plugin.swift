import Foundation
import PackagePlugin

/// Bakes the package's git commit into the target as `BuildCommit.hash`, for `aimclr --version`
/// and the provenance every run records. Runs before every build (HEAD may move without any
/// source changing); the file is rewritten only when the text changes, so nothing recompiles
/// otherwise. Without git or a repository the commit reads "unknown".
@main
struct EmbedCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let outputDir = context.pluginWorkDirectoryURL.appendingPathComponent("GeneratedCommit")
        let output = outputDir.appendingPathComponent("BuildCommit.swift").path
        let script = """
            set -u
            c=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || c=unknown
            if [ "$c" != unknown ] && ! git -C "$1" diff --quiet HEAD -- 2>/dev/null; then c="$c-dirty"; fi
            mkdir -p "$2"
            text="// Generated at build time. Do not edit.
            enum BuildCommit { static let hash = \\"$c\\" }"
            [ -f "$3" ] && [ "$(cat "$3")" = "$text" ] || printf '%s\\n' "$text" > "$3"
            """
        return [
            .prebuildCommand(
                displayName: "Recording the git commit",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "embed-commit", context.package.directoryURL.path, outputDir.path, output],
                outputFilesDirectory: outputDir
            )
        ]
    }
}
