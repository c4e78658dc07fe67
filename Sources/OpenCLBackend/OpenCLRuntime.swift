import COpenCL
import Foundation
import Compute

/// One OpenCL device as seen through the ICD loader. `index` counts devices over all platforms
/// in platform order, which is what `opencl:N` on the command line refers to.
public struct OpenCLDeviceInfo: Sendable, CustomStringConvertible {
    public var index: Int
    public var platformName: String
    public var platformVendor: String
    public var platformVersion: String
    public var name: String
    public var vendor: String
    public var version: String
    public var driverVersion: String
    public var kind: DeviceKind
    public var computeUnits: Int
    public var globalMemoryBytes: Int
    public var localMemoryBytes: Int
    public var maxWorkGroupSize: Int
    public var maxClockMHz: Int
    public var supportsFP64: Bool

    public var description: String {
        let gib = Double(globalMemoryBytes) / 1_073_741_824
        return "opencl:\(index) \(name) [\(kind.rawValue)] on \(platformName) (\(version), driver \(driverVersion)), "
            + "\(computeUnits) CUs @ \(maxClockMHz) MHz, \(String(format: "%.1f", gib)) GiB"
    }
}

/// Device discovery. Never fails: no ICD, no platform or a broken driver all mean "no devices".
public enum OpenCLRuntime {
    public static func devices() -> [OpenCLDeviceInfo] {
        handles().enumerated().map { i, h in info(index: i, platform: h.platform, device: h.device) }
    }

    /// Platform and device handles in the global index order.
    static func handles() -> [(platform: cl_platform_id, device: cl_device_id)] {
        var platformCount: cl_uint = 0
        // CL_PLATFORM_NOT_FOUND_KHR (-1001) when the ICD loader finds no platform.
        guard clGetPlatformIDs(0, nil, &platformCount) == CL_SUCCESS, platformCount > 0 else { return [] }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        guard clGetPlatformIDs(platformCount, &platforms, nil) == CL_SUCCESS else { return [] }
        var result: [(cl_platform_id, cl_device_id)] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS,
                  deviceCount > 0 else { continue }
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil) == CL_SUCCESS
            else { continue }
            for case let device? in devices { result.append((platform, device)) }
        }
        return result
    }

    static func info(index: Int, platform: cl_platform_id, device: cl_device_id) -> OpenCLDeviceInfo {
        let type: cl_device_type = deviceValue(device, CL_DEVICE_TYPE, 0)
        let kind: DeviceKind
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { kind = .openCLGPU }
        else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { kind = .openCLCPU }
        else { kind = .openCLOther }
        let fp64: cl_device_fp_config = deviceValue(device, CL_DEVICE_DOUBLE_FP_CONFIG, 0)
        return OpenCLDeviceInfo(
            index: index,
            platformName: platformString(platform, CL_PLATFORM_NAME),
            platformVendor: platformString(platform, CL_PLATFORM_VENDOR),
            platformVersion: platformString(platform, CL_PLATFORM_VERSION),
            name: deviceString(device, CL_DEVICE_NAME),
            vendor: deviceString(device, CL_DEVICE_VENDOR),
            version: deviceString(device, CL_DEVICE_VERSION),
            driverVersion: deviceString(device, CL_DRIVER_VERSION),
            kind: kind,
            computeUnits: Int(deviceValue(device, CL_DEVICE_MAX_COMPUTE_UNITS, cl_uint(0))),
            globalMemoryBytes: Int(deviceValue(device, CL_DEVICE_GLOBAL_MEM_SIZE, cl_ulong(0))),
            localMemoryBytes: Int(deviceValue(device, CL_DEVICE_LOCAL_MEM_SIZE, cl_ulong(0))),
            maxWorkGroupSize: Int(deviceValue(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, Int(0))),
            maxClockMHz: Int(deviceValue(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, cl_uint(0))),
            supportsFP64: fp64 != 0)
    }

    static func deviceValue<T>(_ device: cl_device_id, _ param: Int32, _ fallback: T) -> T {
        var value = fallback
        let rc = withUnsafeMutableBytes(of: &value) {
            clGetDeviceInfo(device, cl_device_info(param), $0.count, $0.baseAddress, nil)
        }
        return rc == CL_SUCCESS ? value : fallback
    }

    static func deviceString(_ device: cl_device_id, _ param: Int32) -> String {
        var size = 0
        guard clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmed(bytes)
    }

    static func platformString(_ platform: cl_platform_id, _ param: Int32) -> String {
        var size = 0
        guard clGetPlatformInfo(platform, cl_platform_info(param), 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetPlatformInfo(platform, cl_platform_info(param), size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmed(bytes)
    }

    private static func trimmed(_ bytes: [CChar]) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        let text = String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.trimmingCharacters(in: .whitespaces)
    }
}
