import Foundation

// Usage: EmbedKernelsTool OUTPUT.swift KERNEL.cl...
// Writes `enum EmbeddedKernels { static let sources: [String: String] }`, keyed by file name, and
// `enum CLKernel` with a typed launcher per `__kernel` function (see KernelSignatures.swift).
let args = CommandLine.arguments.dropFirst()
guard let output = args.first else {
    FileHandle.standardError.write("usage: EmbedKernelsTool OUTPUT.swift KERNEL.cl...\n".data(using: .utf8)!)
    exit(2)
}
var text = "// Generated from Kernels/*.cl at build time. Do not edit.\n"
text += "enum EmbeddedKernels {\n    static let sources: [String: String] = [\n"
var signatures: [KernelSignature] = []
for path in args.dropFirst() {
    let name = URL(fileURLWithPath: path).lastPathComponent
    let source = try String(contentsOfFile: path, encoding: .utf8)
    do {
        signatures += try kernelSignatures(in: source, file: name)
    } catch {
        FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
    // A raw string with enough hashes that the kernel text cannot terminate it.
    var hashes = "#"
    while source.contains("\"" + hashes) { hashes += "#" }
    text += "        \"\(name)\": \(hashes)\"\"\"\n\(source)\n\"\"\"\(hashes),\n"
}
text += "    ]\n}\n\n"
do {
    text += try swiftLaunchers(for: signatures)
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
try text.write(toFile: output, atomically: true, encoding: .utf8)
