import Compute
import CPUBackend
import Foundation
import OpenCLBackend
import XCTest

/// Device faults become errors naming the op and the sizes: absurd allocations on both
/// backends, and an OpenCL kernel that does not compile (what pocl lets us provoke).
final class DeviceFaultTests: XCTestCase {
    func assertOutOfMemory(_ device: Device, _ shape: [Int], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try device.makeTensor(shape), "\(shape)", file: file, line: line) { error in
            guard case DeviceError.outOfMemory(let op, let bytes, _) = error else {
                return XCTFail("expected outOfMemory, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(op.hasPrefix("makeTensor"), true, file: file, line: line)
            XCTAssertGreaterThan(bytes, 1 << 30, file: file, line: line)
            let text = "\(error)"
            XCTAssertTrue(text.contains("makeTensor") && text.contains("\(shape[0])"), text, file: file, line: line)
        }
    }

    func testCPUAbsurdAllocationsAreErrors() throws {
        let cpu = CPUDevice(threads: 1)
        assertOutOfMemory(cpu, [1 << 40, 1 << 40])          // the element count overflows Int
        assertOutOfMemory(cpu, [Int.max, 2])
        assertOutOfMemory(cpu, [1 << 45])                   // 128 TiB: refused before asking the OS
        XCTAssertThrowsError(try cpu.makeTensor([-3, 4]))
        // 16 TiB passes the size check and reaches the allocator, which must fail softly. With
        // overcommit mode 1 ("always") the kernel grants any size, so only ask elsewhere.
        let mode = (try? String(contentsOfFile: "/proc/sys/vm/overcommit_memory", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if mode != "1" { assertOutOfMemory(cpu, [1 << 42]) }
        // The device still works afterwards.
        let t = try cpu.makeTensor([4])
        cpu.fill(t, value: 2)
        XCTAssertEqual(cpu.read(t), [2, 2, 2, 2])
    }

    func testOpenCLAbsurdAllocationAndBrokenKernelAreErrors() throws {
        let cl = try OpenCLTestDevice.get()
        assertOutOfMemory(cl, [1 << 40, 1 << 40])
        assertOutOfMemory(cl, [Int.max, 2])
        let tooBig = cl.info.globalMemoryBytes / 4 + 1
        assertOutOfMemory(cl, [tooBig])
        XCTAssertThrowsError(try cl.makeTensor([-1]))

        XCTAssertThrowsError(try cl.buildProgram(source: "kernel void broken(global float* x) { x[0] = undefined_name; }",
                                                 name: "broken.cl")) { error in
            guard case DeviceError.kernelBuild(let file, let log) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "broken.cl")
            XCTAssertTrue(log.contains("CL_BUILD_PROGRAM_FAILURE"), log)
            XCTAssertTrue(log.contains("undefined_name"), "the compiler's log names the problem: \(log)")
        }
        // The device still works afterwards.
        let t = try cl.makeTensor([3])
        cl.fill(t, value: 1.5)
        XCTAssertEqual(cl.read(t), [1.5, 1.5, 1.5])
    }
}
