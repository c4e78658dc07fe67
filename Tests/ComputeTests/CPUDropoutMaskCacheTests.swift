import XCTest
import Compute
@testable import CPUBackend

/// The dropout backward reuses the mask its forward recorded; it must equal the regenerated
/// mask bit for bit, whether the entry is there, consumed, or evicted.
final class CPUDropoutMaskCacheTests: XCTestCase {
    func testRecordedMaskEqualsRegeneratedMask() throws {
        let device = CPUDevice(threads: 2)
        let fresh = CPUDevice(threads: 2)          // never ran a forward: always regenerates
        for count in [1, 3, 4, 7, 65_537] {
            let key = RandomKey(seed: 0xFEED_0000_0042, stream: 3, step: UInt32(count))
            let dy = (0 ..< count).map { Float($0 % 13) - 6.5 }
            let x = try device.makeTensor([count]), y = try device.makeTensor([count])
            device.fill(x, value: 1)
            device.dropoutForward(x: x, p: 0.4, key: key, y: y)
            let dyt = try device.makeTensor([count]), dx = try device.makeTensor([count])
            dy.withUnsafeBufferPointer { device.upload($0, to: dyt) }
            device.dropoutBackward(dy: dyt, p: 0.4, key: key, dx: dx)       // recorded mask
            let fdy = try fresh.makeTensor([count]), fdx = try fresh.makeTensor([count])
            dy.withUnsafeBufferPointer { fresh.upload($0, to: fdy) }
            fresh.dropoutBackward(dy: fdy, p: 0.4, key: key, dx: fdx)        // regenerated
            var got = [Float](repeating: 0, count: count), want = got, kept = got
            got.withUnsafeMutableBufferPointer { device.download(dx, into: $0) }
            want.withUnsafeMutableBufferPointer { fresh.download(fdx, into: $0) }
            kept.withUnsafeMutableBufferPointer { device.download(y, into: $0) }
            XCTAssertEqual(got, want, "recorded vs regenerated mask, n=\(count)")
            // The backward zeroes exactly where the forward dropped.
            let dropped = (0 ..< count).filter { kept[$0] == 0 }
            XCTAssertTrue(dropped.allSatisfy { got[$0] == 0 }, "dropped elements get no gradient, n=\(count)")
            if count > 1000 { XCTAssertFalse(dropped.isEmpty, "p = 0.4 drops some of \(count)") }
            // A second backward (entry consumed) regenerates the same mask.
            device.dropoutBackward(dy: dyt, p: 0.4, key: key, dx: dx)
            var again = [Float](repeating: 0, count: count)
            again.withUnsafeMutableBufferPointer { device.download(dx, into: $0) }
            XCTAssertEqual(again, want, "after the entry was consumed, n=\(count)")
        }
    }

    func testCacheEvictsOldestWithinBudgetAndMatchesKeyExactly() {
        let cache = DropoutMaskCache(budgetBytes: 100)
        let k = { (stream: UInt32) in DropoutMaskCache.Key(key: RandomKey(seed: 1, stream: stream, step: 0), count: 160, cut: 5) }
        XCTAssertNotNil(cache.record(k(1), size: 40))
        XCTAssertNotNil(cache.record(k(2), size: 40))
        XCTAssertNotNil(cache.record(k(3), size: 40))   // evicts stream 1
        XCTAssertNil(cache.record(k(4), size: 101), "larger than the whole budget")
        XCTAssertFalse(cache.consume(k(1)) { _ in }, "oldest evicted")
        var other = k(2); other.cut = 6
        XCTAssertFalse(cache.consume(other) { _ in }, "a different p is a different mask")
        XCTAssertTrue(cache.consume(k(2)) { _ in })
        XCTAssertFalse(cache.consume(k(2)) { _ in }, "consumed")
        XCTAssertTrue(cache.consume(k(3)) { _ in })
        // Recording a step drops what other steps left behind.
        let sameStep = { (stream: UInt32, step: UInt32) in
            DropoutMaskCache.Key(key: RandomKey(seed: 1, stream: stream, step: step), count: 8, cut: 5)
        }
        XCTAssertNotNil(cache.record(sameStep(0, 7), size: 10))
        XCTAssertNotNil(cache.record(sameStep(1, 7), size: 10))
        XCTAssertNotNil(cache.record(sameStep(0, 8), size: 10))
        XCTAssertFalse(cache.consume(sameStep(1, 7)) { _ in }, "an earlier step's entry is dropped")
        XCTAssertTrue(cache.consume(sameStep(0, 8)) { _ in })
    }
}
