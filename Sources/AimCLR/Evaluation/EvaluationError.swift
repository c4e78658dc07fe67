import Foundation

/// Errors of the evaluation protocols. Each names the file, the sample or the sizes involved.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// A checkpoint could not be read or does not hold an encoder.
    case checkpoint(file: String, detail: String)
    /// Two sample lists that must line up do not.
    case sampleMismatch(source: String, index: Int, found: String, expected: String)
    /// Array sizes disagree.
    case shape(what: String, detail: String)
    /// A protocol setting is out of range.
    case invalidSetting(name: String, detail: String)

    public var description: String {
        switch self {
        case .checkpoint(let f, let d): return "\(f): \(d)"
        case .sampleMismatch(let s, let i, let found, let expected):
            return "\(s): sample \(i) is '\(found)' but '\(expected)' was expected there (the sample lists do not line up)"
        case .shape(let w, let d): return "\(w): \(d)"
        case .invalidSetting(let n, let d): return "\(n): \(d)"
        }
    }
}
