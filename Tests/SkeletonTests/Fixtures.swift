import Foundation
import XCTest

/// Locates the shared real-data fixtures: `AIMCLR_SHARED_DATA`, else `<repo>/../shared/data`.
/// Tests that need them skip with a message when the folder is absent (the data may not be redistributed).
enum Fixtures {
    static var root: String {
        if let env = ProcessInfo.processInfo.environment["AIMCLR_SHARED_DATA"], !env.isEmpty { return env }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }

    /// The absolute path of `relative` under the fixture root, or an XCTSkip when missing.
    static func path(_ relative: String) throws -> String {
        let p = root + "/" + relative
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("fixture \(relative) not found under \(root); set AIMCLR_SHARED_DATA to the shared data folder")
        }
        return p
    }

    static func json(_ relative: String) throws -> Any {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path(relative)))
        return try JSONSerialization.jsonObject(with: data)
    }
}

/// A fresh temporary directory removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> String {
    let dir = NSTemporaryDirectory() + "skeleton-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func maxAbsDiff(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m = 0.0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}
