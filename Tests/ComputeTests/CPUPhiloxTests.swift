import XCTest
import Compute

/// Philox-4x32-10 known-answer vectors from Random123 (kat_vectors), and the element
/// mapping of `RandomKey`.
final class CPUPhiloxTests: XCTestCase {
    private func check(key: (UInt32, UInt32), counter: (UInt32, UInt32, UInt32, UInt32),
                       expected: (UInt32, UInt32, UInt32, UInt32), line: UInt = #line) {
        let seed = UInt64(key.0) | (UInt64(key.1) << 32)
        let r = Philox4x32(seed: seed).block(counter.0, counter.1, counter.2, counter.3)
        XCTAssertEqual([r.0, r.1, r.2, r.3], [expected.0, expected.1, expected.2, expected.3], line: line)
    }

    func testRandom123KnownAnswers() {
        check(key: (0, 0), counter: (0, 0, 0, 0), expected: (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        check(key: (0xffff_ffff, 0xffff_ffff), counter: (0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff),
              expected: (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        check(key: (0xa409_3822, 0x299f_31d0), counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
              expected: (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    func testRandomKeyUsesBlockPerFourElements() {
        let key = RandomKey(seed: 77, stream: 3, step: 9)
        let r = Philox4x32(seed: 77).block(2, 3, 9, 0)
        XCTAssertEqual(key.uniform(8), Philox4x32.unitFloat(r.0))
        XCTAssertEqual(key.uniform(9), Philox4x32.unitFloat(r.1))
        XCTAssertEqual(key.uniform(11), Philox4x32.unitFloat(r.3))
        XCTAssertEqual(Philox4x32.unitFloat(0xffff_ffff), 1 - 1.0 / 16_777_216)
        XCTAssertEqual(Philox4x32.unitFloat(0), 0)
    }
}
