import Compute

/// Whether the device's OpenCL compiler accepts the tensor-core instructions behind `--precision
/// tf32 | fp16-mixed`: NVIDIA's OpenCL compiler passes inline PTX through, so a tiny kernel with
/// one `mma.sync` per precision either builds (the device has tensor cores of that kind) or not.
/// Other platforms are not asked to compile PTX at all.
enum TensorCoreProbe {
    /// One `mma.sync` with zero operands (A 4 regs, B 2 regs, C/D 4 fp32 regs) in a kernel named `name`.
    static func kernel(_ name: String, instruction: String) -> String {
        """
        __kernel void \(name)(__global float *out) {
            float d0, d1, d2, d3;
            unsigned a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0;
            float c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f;
            asm volatile("\(instruction) {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                         : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
                         : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "f"(c0), "f"(c1), "f"(c2), "f"(c3));
            out[get_global_id(0)] = d0 + d1 + d2 + d3;
        }
        """
    }

    /// m16n8k8 TF32 (sm_80+).
    static let tf32Kernel = kernel("probe_tf32", instruction: "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32")
    /// m16n8k16 FP16 inputs, FP32 accumulation (sm_80+).
    static let fp16Kernel = kernel("probe_fp16", instruction: "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32")

    static func isNVIDIA(_ info: OpenCLDeviceInfo) -> Bool {
        (info.platformName + " " + info.platformVendor + " " + info.vendor).lowercased().contains("nvidia")
    }

    static func probe(_ device: OpenCLDevice) -> PrecisionSupport {
        guard isNVIDIA(device.info) else {
            return .fp32Only(reason: "needs an NVIDIA OpenCL platform with tensor cores; \(device.info.platformName) is not one")
        }
        var support = PrecisionSupport(supported: [.fp32], unavailable: [:])
        for (precision, source) in [(ComputePrecision.tf32, tf32Kernel), (.fp16Mixed, fp16Kernel)] {
            do {
                _ = try device.buildProgram(source: source, name: "probe_\(precision.rawValue)")
                support.supported.append(precision)
            } catch {
                let firstLine = "\(error)".split(separator: "\n").dropFirst().first.map(String.init) ?? "\(error)"
                support.unavailable[precision] = "the mma.sync compile probe failed: \(firstLine)"
            }
        }
        return support
    }
}
