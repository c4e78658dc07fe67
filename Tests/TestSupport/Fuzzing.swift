import Foundation
import XCTest

/// Seeded mutations of a valid file: byte flips, random bytes, truncations, insertions,
/// deletions, duplicated chunks and corrupted length fields (extreme 1/2/4/8-byte values).
public struct Mutator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }

    /// One to three mutations of `valid`.
    public mutating func mutate(_ valid: [UInt8]) -> [UInt8] {
        var b = valid
        for _ in 0...below(3) {
            switch below(8) {
            case 0 where !b.isEmpty: // flip one bit
                let i = below(b.count); b[i] ^= UInt8(1 << below(8))
            case 1 where !b.isEmpty: // random byte
                b[below(b.count)] = UInt8(truncatingIfNeeded: next())
            case 2: // truncate
                b = Array(b.prefix(below(b.count + 1)))
            case 3: // insert random bytes
                let at = below(b.count + 1)
                b.insert(contentsOf: (0..<(1 + below(16))).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
            case 4 where !b.isEmpty: // delete a run
                let at = below(b.count), n = min(b.count - at, 1 + below(16))
                b.removeSubrange(at..<(at + n))
            case 5 where !b.isEmpty: // duplicate a chunk somewhere else
                let at = below(b.count), n = min(b.count - at, 1 + below(64))
                let chunk = Array(b[at..<(at + n)])
                b.insert(contentsOf: chunk, at: below(b.count + 1))
            case 6 where !b.isEmpty: // corrupt a length field with an extreme value
                let width = [1, 2, 4, 8][below(4)]
                let at = below(b.count)
                let extremes: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF,
                                          0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max, next()]
                let v = extremes[below(extremes.count)]
                for k in 0..<width where at + k < b.count { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            case 7 where !b.isEmpty: // a digit run replaced by a huge or negative number (text formats)
                let at = below(b.count)
                let words = ["99999999999999999999", "-1", "-9223372036854775808", "9223372036854775807", "nan", "inf",
                             "1e999", "0", "4294967296"]
                b.replaceSubrange(at..<min(b.count, at + 1 + below(4)), with: Array(words[below(words.count)].utf8))
            default:
                b.append(UInt8(truncatingIfNeeded: next()))
            }
        }
        return b
    }
}

/// Runs `body` on `count` mutated copies of `valid` (capped at `seconds`); every thrown error must
/// name `label`. A trap (out of bounds, overflow, bad allocation) would crash the test process.
/// Returns (inputs tried, inputs rejected).
@discardableResult
public func fuzz(_ what: String, valid: [UInt8], label: String, seed: UInt64 = 1, count: Int = 3000, seconds: Double = 5, minimum: Int = 100,
          file: StaticString = #filePath, line: UInt = #line, _ body: ([UInt8]) throws -> Void) -> (Int, Int) {
    var m = Mutator(seed: seed)
    let start = Date()
    var tried = 0, rejected = 0, unnamed = 0
    // The unmodified file must be accepted.
    XCTAssertNoThrow(try body(valid), "\(what): the valid fixture is rejected", file: file, line: line)
    while tried < count, Date().timeIntervalSince(start) < seconds {
        let input = m.mutate(valid)
        tried += 1
        do { try body(input) } catch {
            rejected += 1
            if !"\(error)".contains(label) {
                unnamed += 1
                if unnamed <= 3 { XCTFail("\(what): error does not name the file: \(error)", file: file, line: line) }
            }
        }
    }
    print("hostile inputs: \(what): \(tried) mutated files, \(rejected) rejected with an error, none crashed")
    XCTAssertGreaterThanOrEqual(tried, minimum, "\(what): too few inputs in the time limit", file: file, line: line)
    XCTAssertGreaterThan(rejected, 0, "\(what): no mutation was rejected", file: file, line: line)
    return (tried, rejected)
}

/// A scratch folder for one test.
public func scratchFolder(_ name: String) throws -> URL {
    let url = ScratchPaths.register(FileManager.default.temporaryDirectory.appendingPathComponent("aimclr-hostile-\(name)-\(getpid())"))
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

