import CLBlastParameters
import COpenCL
import Compute
import Foundation

/// Reading and overriding CLBlast's single-precision tuning parameters for one of its kernels
/// ("Xgemm", "XgemmDirect", "GemmRoutine") on this device. An override holds for every context
/// on a device of the same name in this process until overridden again.
extension OpenCLDevice {
    /// The parameters CLBlast uses now (its database entry, or the last override).
    public func clblastParameters(kernel: String) throws -> [String: Int] {
        var buffer = [CChar](repeating: 0, count: 4096)
        let rc = kernel.withCString { name in
            aimclr_clblast_retrieve_parameters(UnsafeMutableRawPointer(deviceID), name, &buffer, buffer.count)
        }
        guard rc == 0 else {
            throw DeviceError.unavailable("CLBlast has no \(kernel) parameters for \(info.name): "
                                          + (rc == -9999 ? "too many" : clblastStatusName(CLBlastStatusCode(rawValue: rc))))
        }
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        let text = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var result: [String: Int] = [:]
        for item in text.split(separator: ";") {
            let parts = item.split(separator: "=")
            if parts.count == 2, let v = Int(parts[1]) { result[String(parts[0])] = v }
        }
        return result
    }

    /// Replaces the parameters of `kernel`; CLBlast recompiles the routines that use it on their
    /// next call. CLBlast insists on the complete set of the kernel's parameter names.
    public func overrideCLBlastParameters(kernel: String, _ parameters: [String: Int]) throws {
        let names = parameters.keys.sorted()
        let values = names.map { parameters[$0] ?? 0 }
        guard values.allSatisfy({ $0 >= 0 }) else {
            throw DeviceError.unavailable("\(kernel) parameters must be non-negative: \(parameters)")
        }
        var cNames = names.map { strdup($0) }
        defer { for p in cNames { free(p) } }
        var sizes = values.map { Int($0) }
        let status = cNames.withUnsafeMutableBufferPointer { namePointers -> CLBlastStatusCode in
            namePointers.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: names.count) { np in
                CLBlastOverrideParameters(deviceID, kernel, CLBlastPrecisionSingle, names.count, np, &sizes)
            }
        }
        guard status == CLBlastSuccess else {
            throw DeviceError.unavailable("CLBlast rejected \(kernel) parameters \(describeParameters(parameters)) on \(info.name): "
                                          + clblastStatusName(status))
        }
    }
}

/// "KWG=32 MWG=64 ..." in name order.
public func describeParameters(_ p: [String: Int]) -> String {
    p.keys.sorted().map { "\($0)=\(p[$0] ?? 0)" }.joined(separator: " ")
}
