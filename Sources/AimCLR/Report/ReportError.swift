import Foundation

/// A report input that cannot be used, named by file (and line where there is one).
public struct ReportError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var detail: String

    public init(file: String, line: Int? = nil, detail: String) { self.file = file; self.line = line; self.detail = detail }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(detail)" }
}
