import Foundation

/// One parameter of a `__kernel` function and the Swift argument type that stands for it.
struct KernelParameter {
    let name: String
    let swiftType: String

    /// nil when the OpenCL type is not one the launcher can pass (the build then fails).
    init?(declaration: String) {
        let words = declaration.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        guard let last = words.last else { return nil }
        let text = words.joined(separator: " ")
        name = last.trimmingCharacters(in: CharacterSet(charactersIn: "*"))
        if text.contains("__local") {
            swiftType = "KernelLocalArg"
        } else if text.contains("*") {
            swiftType = "KernelBufferArg"
        } else if words.contains("float") {
            swiftType = "KernelFloatArg"
        } else if words.contains("uint") || words.contains("unsigned") {
            swiftType = "KernelUIntArg"
        } else if words.contains("int") {
            swiftType = "KernelIntArg"
        } else {
            return nil
        }
    }
}

/// A `__kernel` function found in a kernel file.
struct KernelSignature {
    let file: String
    let name: String
    let parameters: [KernelParameter]
    let declaration: String
}

enum KernelSignatureError: Error, CustomStringConvertible {
    case unsupportedParameter(file: String, kernel: String, parameter: String)
    case duplicateName(String, first: String, second: String)

    var description: String {
        switch self {
        case .unsupportedParameter(let file, let kernel, let parameter):
            return "\(file): kernel \(kernel): parameter '\(parameter)' has a type the launcher cannot pass"
        case .duplicateName(let name, let first, let second):
            return "kernel name \(name) is defined in both \(first) and \(second); kernel names must be unique"
        }
    }
}

/// Every `__kernel void name(...)` in `source` (comments removed first).
func kernelSignatures(in source: String, file: String) throws -> [KernelSignature] {
    let text = source
        .replacingOccurrences(of: #"/\*[\s\S]*?\*/"#, with: " ", options: .regularExpression)
        .replacingOccurrences(of: #"//[^\n]*"#, with: " ", options: .regularExpression)
    let pattern = try NSRegularExpression(pattern: #"__kernel\s+(?:__attribute__\s*\(\(.*?\)\)\s*)?void\s+(\w+)\s*\(([^)]*)\)"#,
                                          options: [.dotMatchesLineSeparators])
    let ns = text as NSString
    return try pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { match in
        let name = ns.substring(with: match.range(at: 1))
        let list = ns.substring(with: match.range(at: 2))
        let declarations = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && $0 != "void" }
        let parameters = try declarations.map { d -> KernelParameter in
            guard let p = KernelParameter(declaration: d) else {
                throw KernelSignatureError.unsupportedParameter(file: file, kernel: name, parameter: d)
            }
            return p
        }
        let flat = declarations.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        return KernelSignature(file: file, name: name, parameters: parameters,
                               declaration: "\(name)(\(flat.joined(separator: ", ")))")
    }
}

/// `enum CLKernel` with one function per kernel: its parameters are typed by the kernel's own
/// signature, so a launch with a wrong argument count or kind does not compile.
func swiftLaunchers(for kernels: [KernelSignature]) throws -> String {
    var seen: [String: String] = [:]
    for k in kernels {
        if let first = seen[k.name] { throw KernelSignatureError.duplicateName(k.name, first: first, second: k.file) }
        seen[k.name] = k.file
    }
    var text = "/// Typed launch arguments for every kernel in Kernels/*.cl (generated from their signatures).\n"
    text += "enum CLKernel {\n"
    for k in kernels {
        // Backquoted names: a kernel parameter may be a Swift keyword (`var`).
        let params = k.parameters.map { "_ `\($0.name)`: \($0.swiftType)" }.joined(separator: ", ")
        let args = k.parameters.map { "`\($0.name)`.arg" }.joined(separator: ", ")
        text += "    /// \(k.file): \(k.declaration)\n"
        text += "    static func \(k.name)(\(params)) -> KernelCall {\n"
        text += "        KernelCall(file: \"\(k.file)\", name: \"\(k.name)\", args: [\(args)])\n"
        text += "    }\n"
    }
    text += "}\n"
    return text
}
