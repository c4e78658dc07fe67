import Compute
@testable import OpenCLBackend
import XCTest

/// An OpenCL call that fails inside an op (here a scratch buffer beyond the device's largest
/// buffer, as on a GPU too small for the batch) is an error the training loop throws, not a
/// stop: that op and every later one enqueue nothing until the error is taken, and the device
/// works again afterwards.
final class OpenCLRuntimeFailureTests: XCTestCase {
    func testAFailedScratchAllocationIsThrownByCheckErrorsAndTheDeviceRecovers() throws {
        let d = try OpenCLTestDevice.get()
        _ = d.takeError()
        let n = 100_000, count = 50_000, shift = 10
        let values = (0..<n).map { Float($0) }
        let t = try d.makeTensor([n]), other = try d.makeTensor([16])
        values.withUnsafeBufferPointer { d.upload($0, to: t) }
        d.fill(other, value: 1)
        let limit = d.pool.maxBufferBytes
        defer { d.pool.maxBufferBytes = limit }

        // An overlapping copy goes through a scratch of `count` floats; allow only 4 KiB.
        d.pool.maxBufferBytes = 4096
        d.copy(t, srcOffset: 0, to: t, dstOffset: shift, count: count)
        d.fill(other, value: 2)
        d.pool.maxBufferBytes = limit
        XCTAssertEqual(d.read(t), values, "the failed copy wrote nothing")
        XCTAssertEqual(d.read(other), [Float](repeating: 1, count: 16), "later ops are skipped until the error is taken")
        XCTAssertThrowsError(try d.checkErrors()) { error in
            guard case .outOfMemory(let op, let bytes, let detail)? = error as? DeviceError else {
                return XCTFail("expected an out-of-memory error, got \(error)")
            }
            XCTAssertEqual(op, "copy")
            XCTAssertGreaterThanOrEqual(bytes, count * 4)
            XCTAssertTrue(detail.contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE"), detail)
        }
        XCTAssertNoThrow(try d.checkErrors(), "the error is thrown once")

        d.copy(t, srcOffset: 0, to: t, dstOffset: shift, count: count)
        d.fill(other, value: 2)
        var expected = values
        for i in 0..<count { expected[shift + i] = values[i] }
        XCTAssertEqual(d.read(t), expected)
        XCTAssertEqual(d.read(other), [Float](repeating: 2, count: 16))
        XCTAssertNoThrow(try d.checkErrors())
    }
}
