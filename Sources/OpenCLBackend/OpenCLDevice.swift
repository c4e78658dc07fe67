import COpenCL
import Compute
import Foundation

/// A compiled OpenCL program; released when the last reference goes.
public final class OpenCLProgram {
    let program: cl_program
    init(_ program: cl_program) { self.program = program }
    deinit { clReleaseProgram(program) }
}

/// An argument of a kernel launch.
enum KernelArg {
    case tensor(Tensor)
    case mem(cl_mem)
    case int(Int)
    case uint(UInt32)
    case float(Float)
    /// `__local` memory of this many bytes per work-item of the launch's work-group.
    case localPerItem(Int)
    /// `__local` memory of a fixed byte size.
    case localBytes(Int)
}

/// The OpenCL backend: one context and one in-order, profiled command queue on one device.
///
/// Kernel files (`Kernels/*.cl`, embedded at build time) are compiled when the device opens,
/// with `common.cl` prepended, and cached by file name. GEMMs go to CLBlast, which
/// caches its own compiled routines per context. Ops only enqueue work; `download` and
/// `synchronize` wait. Like the CPU backend, a device serves one caller at a time.
public final class OpenCLDevice: Device {
    public let info: OpenCLDeviceInfo
    public var name: String { "opencl:\(info.index) \(info.name) (\(info.platformName))" }
    public var kind: DeviceKind { info.kind }
    public var memoryBytes: Int? { info.globalMemoryBytes > 0 ? info.globalMemoryBytes : nil }

    let deviceID: cl_device_id
    let context: cl_context
    var queue: cl_command_queue?
    let pool: OpenCLBufferPool

    private var programs: [String: OpenCLProgram] = [:]
    private var kernels: [String: (kernel: cl_kernel, maxGroup: Int)] = [:]
    /// Preferred work-group size for elementwise kernels and upper bound for reductions.
    let groupSize: Int
    /// Compiler options: OpenCL C 1.2, no fast-math, and where the device offers it correctly
    /// rounded float divide and sqrt (as on the CPU), so masks that compare a computed value
    /// with a threshold (EADM) agree across backends.
    let buildOptions: String

    /// Use the chunked reduction kernels for the edge-importance gradient (false: K GEMMs; tests
    /// flip it to cover the fallback that devices with small work-groups take).
    var importanceReductionKernels = true
    /// Split long-k GEMMs into a strided-batched GEMM plus an ordered sum (`splitKChunks`);
    /// off only in tests that compare both paths.
    var splitKGEMM = true
    /// Shortest k-block of a split-K GEMM.
    var splitKMinimumChunk = 1024
    /// Convolve narrow temporal layers directly when no columns are stored (`usesDirectTemporalConv`).
    var directTemporalConv = true
    /// Widest input of the direct temporal convolution.
    var directTemporalConvMaxChannels = 64
    /// Record a failed CLBlast call in `blasFailure` instead of stopping (the tuner only).
    var recordsBLASFailures = false
    var blasFailure: String?
    /// The tuning-cache entries applied when the device opened (see GEMMTuningCache).
    public private(set) var appliedTuning: [GEMMTuningCache.Entry] = []
    /// The cache file those entries came from.
    public private(set) var tuningCachePath: String?
    /// Precisions this device can run and why the others cannot (see TensorCoreProbe).
    public private(set) var precisionSupport = PrecisionSupport.fp32Only(reason: "not probed")

    // Profiling state (see OpenCLDevice+Profiling.swift).
    public var profilingEnabled = false
    /// Also time each kernel of an op on its own row "op/kernel" (flops and bytes stay with the op).
    public var profileKernels = false
    var currentOp: String?
    /// The first op-contract violation or failed OpenCL call not yet taken (see `OpContract`).
    let errors = ErrorLatch()
    /// Set when an OpenCL call failed at run time (a buffer the device could not allocate, an
    /// enqueue it refused): the step is invalid, so nothing more is enqueued until the error is
    /// taken, and the training loop's `checkErrors()` turns it into a thrown error.
    private(set) var runtimeFailed = false
    /// The storage of placeholder tensors that stand in for failed allocations (4 bytes).
    let placeholderMem: cl_mem
    public func takeError() -> DeviceError? {
        runtimeFailed = false
        return errors.take()
    }

    /// Records a failed OpenCL call (see `runtimeFailed`).
    func recordFailure(_ error: DeviceError) {
        errors.record(error)
        runtimeFailed = true
    }

    /// False, with the failure recorded, when an OpenCL call did not return CL_SUCCESS.
    @discardableResult
    func succeeded(_ code: cl_int, _ op: @autoclosure () -> String, _ call: @autoclosure () -> String) -> Bool {
        if code == CL_SUCCESS { return true }
        recordFailure(.backend(op: op(), detail: "\(call()) failed with \(clErrorName(code)) (\(code))"))
        return false
    }
    var pendingEvents: [PendingEvent] = []
    var timings: [String: OpTiming] = [:]

    /// Opens device `index` of `OpenCLRuntime.devices()` and applies the tuning cache at
    /// `tuningCache` (default: `GEMMTuningCache.defaultPath()`; nil: none) where it has entries
    /// for this device. A cache file that is not a valid cache is an error naming it.
    public convenience init(index: Int) throws {
        try self.init(index: index, tuningCache: GEMMTuningCache.defaultPath())
    }

    public init(index: Int, tuningCache: String?) throws {
        let handles = OpenCLRuntime.handles()
        guard handles.indices.contains(index) else {
            throw DeviceError.unavailable(handles.isEmpty
                ? "no OpenCL platform or device found (is an ICD such as pocl or a GPU driver installed?)"
                : "no OpenCL device with index \(index); \(handles.count) available")
        }
        let handle = handles[index]
        info = OpenCLRuntime.info(index: index, platform: handle.platform, device: handle.device)
        deviceID = handle.device
        var rc: cl_int = 0
        var device: cl_device_id? = handle.device
        guard let ctx = clCreateContext(nil, 1, &device, nil, nil, &rc), rc == CL_SUCCESS else {
            throw DeviceError.unavailable("clCreateContext on \(info.name): \(clErrorName(rc))")
        }
        context = ctx
        let q = clCreateCommandQueue(ctx, handle.device, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &rc)
        guard let q, rc == CL_SUCCESS else {
            clReleaseContext(ctx)
            throw DeviceError.unavailable("clCreateCommandQueue on \(info.name): \(clErrorName(rc))")
        }
        queue = q
        pool = OpenCLBufferPool(context: ctx)
        let maxBuffer: cl_ulong = OpenCLRuntime.deviceValue(handle.device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, 0)
        if maxBuffer > 0 { pool.maxBufferBytes = Int(clamping: maxBuffer) }
        guard let placeholder = clCreateBuffer(ctx, cl_mem_flags(CL_MEM_READ_WRITE), 4, nil, &rc), rc == CL_SUCCESS else {
            clReleaseCommandQueue(q)
            clReleaseContext(ctx)
            throw DeviceError.unavailable("clCreateBuffer on \(info.name): \(clErrorName(rc))")
        }
        placeholderMem = placeholder
        var g = 1
        while g * 2 <= min(256, max(info.maxWorkGroupSize, 1)) { g *= 2 }
        groupSize = g
        let fp: cl_device_fp_config = OpenCLRuntime.deviceValue(handle.device, CL_DEVICE_SINGLE_FP_CONFIG, 0)
        buildOptions = fp & cl_device_fp_config(CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0
            ? "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt" : "-cl-std=CL1.2"
        // Compile every kernel file now: a driver that cannot build them fails here, where the
        // caller can still fall back to another device, rather than in the middle of a step.
        try buildAllPrograms()
        precisionSupport = TensorCoreProbe.probe(self)
        if let path = tuningCache, let cache = try GEMMTuningCache.load(path: path) {
            let entries = cache.entries(for: info)
            for e in entries where !e.parameters.isEmpty {
                do { try overrideCLBlastParameters(kernel: e.kernel, e.parameters) } catch {
                    throw DeviceError.unavailable("tuning cache \(path), \(e.shapeClass) entry for \(info.name): \(error); "
                                                  + "run `aimclr tune` again (AIMCLR_TUNING_CACHE=none skips the cache)")
                }
            }
            appliedTuning = entries
            tuningCachePath = path
        }
    }

    deinit {
        if let queue { clFinish(queue) }
        releaseEvents()
        for entry in kernels.values { clReleaseKernel(entry.kernel) }
        kernels.removeAll()
        programs.removeAll()
        if let queue { clReleaseCommandQueue(queue) }
        clReleaseMemObject(placeholderMem)
        clReleaseContext(context)
    }

    // MARK: Programs and kernels

    /// Compiles `common.cl` followed by `source` for this device with `buildOptions` ("-cl-std=CL1.2",
    /// no fast-math flags). A compiler error throws `DeviceError.kernelBuild` with the build log.
    public func buildProgram(source: String, name: String) throws -> OpenCLProgram {
        let text = (EmbeddedKernels.sources["common.cl"] ?? "") + "\n" + source
        var rc: cl_int = 0
        let created: cl_program? = text.withCString { ptr in
            var p: UnsafePointer<CChar>? = ptr
            var length = strlen(ptr)
            return clCreateProgramWithSource(context, 1, &p, &length, &rc)
        }
        guard let program = created, rc == CL_SUCCESS else {
            throw DeviceError.kernelBuild(file: name, log: "clCreateProgramWithSource: \(clErrorName(rc))")
        }
        var device: cl_device_id? = deviceID
        rc = clBuildProgram(program, 1, &device, buildOptions, nil, nil)
        if rc != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            throw DeviceError.kernelBuild(file: name, log: "\(clErrorName(rc)):\n\(log)")
        }
        return OpenCLProgram(program)
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, deviceID, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        guard size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(program, deviceID, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The program of one kernel file, compiled on first use.
    func program(_ file: String) throws -> OpenCLProgram {
        if let p = programs[file] { return p }
        guard let source = EmbeddedKernels.sources[file] else {
            throw DeviceError.kernelBuild(file: file, log: "no such embedded kernel file")
        }
        let p = try buildProgram(source: source, name: file)
        programs[file] = p
        return p
    }

    /// Compiles every kernel file not yet compiled (the initialiser does this once).
    public func buildAllPrograms() throws {
        for file in EmbeddedKernels.sources.keys.sorted() where file != "common.cl" { _ = try program(file) }
    }

    func kernel(_ file: String, _ name: String) throws -> (kernel: cl_kernel, maxGroup: Int) {
        let key = file + ":" + name
        if let k = kernels[key] { return k }
        let p = try program(file)
        var rc: cl_int = 0
        guard let k = clCreateKernel(p.program, name, &rc), rc == CL_SUCCESS else {
            throw DeviceError.backend(op: name, detail: "clCreateKernel in \(file): \(clErrorName(rc))")
        }
        var maxGroup = 0
        clGetKernelWorkGroupInfo(k, deviceID, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                 MemoryLayout<Int>.size, &maxGroup, nil)
        if maxGroup <= 0 { maxGroup = groupSize }
        kernels[key] = (k, maxGroup)
        return (k, maxGroup)
    }

    // MARK: Launching

    func mem(_ t: Tensor, _ op: @autoclosure () -> String = "op") -> cl_mem {
        guard t.device === self, let b = t.buffer as? OpenCLBuffer else {
            fatalError(DeviceError.backend(op: op(), detail: "tensor \(t.shape) does not live on \(name)").description)
        }
        return b.mem
    }

    /// The kernel's work-group limit, or 1 with the failure recorded (nothing launches after it).
    func maxGroup(_ file: String, _ name: String) -> Int {
        kernelOrFailure(file, name)?.maxGroup ?? 1
    }

    /// Largest power of two ≤ min(groupSize, the kernel's limit).
    func groupSize(_ file: String, _ name: String) -> Int {
        let limit = maxGroup(file, name)
        var g = 1
        while g * 2 <= min(groupSize, limit) { g *= 2 }
        return g
    }

    /// Enqueues a kernel over an NDRange. `local[0]` sizes `.localPerItem` arguments. Calls come
    /// from `CLKernel`, generated from the kernels' signatures, so the arguments match in number
    /// and kind.
    func launch(_ call: KernelCall, global: [Int], local: [Int]) {
        guard !runtimeFailed, let k = kernelOrFailure(call.file, call.name)?.kernel else { return }
        let name = call.name
        let items = local.reduce(1, *)
        for (i, arg) in call.args.enumerated() {
            var rc: cl_int
            switch arg {
            case .tensor(let t):
                var m: cl_mem? = mem(t, name)
                rc = clSetKernelArg(k, cl_uint(i), MemoryLayout<cl_mem?>.size, &m)
            case .mem(let m0):
                var m: cl_mem? = m0
                rc = clSetKernelArg(k, cl_uint(i), MemoryLayout<cl_mem?>.size, &m)
            case .int(let v):
                guard let x32 = Int32(exactly: v) else {
                    recordFailure(.backend(op: currentOp ?? name, detail: "\(name): argument \(i) = \(v) overflows int"))
                    return
                }
                var x = x32
                rc = clSetKernelArg(k, cl_uint(i), 4, &x)
            case .uint(let v):
                var x = v
                rc = clSetKernelArg(k, cl_uint(i), 4, &x)
            case .float(let v):
                var x = v
                rc = clSetKernelArg(k, cl_uint(i), 4, &x)
            case .localPerItem(let bytes):
                rc = clSetKernelArg(k, cl_uint(i), bytes * items, nil)
            case .localBytes(let bytes):
                rc = clSetKernelArg(k, cl_uint(i), max(bytes, 4), nil)
            }
            guard succeeded(rc, currentOp ?? name, "clSetKernelArg(\(name), \(i))") else { return }
        }
        var g = global
        var l = local
        let rc = enqueue(name) { event in clEnqueueNDRangeKernel(queue, k, cl_uint(g.count), nil, &g, &l, 0, nil, event) }
        succeeded(rc, currentOp ?? name, "clEnqueueNDRangeKernel(\(name), global \(global), local \(local))")
    }

    /// The call's kernel, or nil with the failure recorded.
    private func kernelOrFailure(_ file: String, _ name: String) -> (kernel: cl_kernel, maxGroup: Int)? {
        do { return try kernel(file, name) } catch {
            recordFailure(error as? DeviceError ?? .backend(op: name, detail: "\(error)"))
            return nil
        }
    }

    /// One work-item per element: global = count rounded up to the work-group size.
    func launch(_ call: KernelCall, count: Int) {
        guard count > 0, !runtimeFailed else { return }
        let g = groupSize(call.file, call.name)
        launch(call, global: [(count + g - 1) / g * g], local: [g])
    }

    /// One work-group per item of `groups` (reductions); `.localPerItem` sizes follow the group.
    func launch(_ call: KernelCall, groups: Int) {
        guard groups > 0, !runtimeFailed else { return }
        let g = groupSize(call.file, call.name)
        launch(call, global: [groups * g], local: [g])
    }

    // MARK: Memory

    /// No single buffer can exceed the device's global memory.
    var maxAllocationBytes: Int { info.globalMemoryBytes > 0 ? info.globalMemoryBytes : Int.max / 8 }

    public func makeTensor(_ shape: [Int]) throws -> Tensor {
        let count = try Tensor.elementCount(of: shape, maxBytes: maxAllocationBytes,
                                            limit: "the \(maxAllocationBytes)-byte allocation limit of \(name)")
        let buffer = try pool.allocate(count: count, op: "makeTensor(\(shape))")
        return Tensor(device: self, shape: shape, buffer: buffer)
    }

    /// Scratch space for one op; returned to the pool when the op's reference goes. When the
    /// device cannot allocate it, the failure is recorded and a placeholder comes back, which
    /// nothing reads or writes: the op's remaining launches are skipped (see `runtimeFailed`).
    func scratch(_ count: Int, _ op: String) -> Tensor {
        do { return try makeTensor([count]) } catch {
            if case .outOfMemory(_, let bytes, let detail)? = error as? DeviceError {
                recordFailure(.outOfMemory(op: op, bytes: bytes, detail: detail))
            } else {
                recordFailure(error as? DeviceError ?? .outOfMemory(op: op, bytes: count * 4, detail: "\(error)"))
            }
            return Tensor(device: self, shape: [count], buffer: OpenCLBuffer(placeholder: placeholderMem, count: count))
        }
    }

    public func upload(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor) {
        guard errors.check({ try OpContract.transfer("upload", count: values.count, tensor: tensor) }) != nil,
              let base = values.baseAddress, values.count > 0 else { return }
        let rc = clEnqueueWriteBuffer(queue, mem(tensor, "upload"), cl_bool(CL_TRUE), 0, values.count * 4, base, 0, nil, nil)
        succeeded(rc, "upload", "clEnqueueWriteBuffer(\(values.count * 4) bytes)")
    }

    public func download(_ tensor: Tensor, into values: UnsafeMutableBufferPointer<Float>) {
        guard errors.check({ try OpContract.transfer("download", count: values.count, tensor: tensor) }) != nil,
              let base = values.baseAddress, values.count > 0 else { return }
        let rc = clEnqueueReadBuffer(queue, mem(tensor, "download"), cl_bool(CL_TRUE), 0, values.count * 4, base, 0, nil, nil)
        succeeded(rc, "download", "clEnqueueReadBuffer(\(values.count * 4) bytes)")
        // A blocking read on an in-order queue means every earlier command has finished.
        harvestEvents()
    }

    public func fill(_ tensor: Tensor, value: Float) {
        op("fill", OpContract.fill(tensor)) {
            launch(CLKernel.fill_f32(.tensor(tensor), .float(value), .int(tensor.count)), count: tensor.count)
        }
    }

    public func copy(_ src: Tensor, srcOffset: Int, to dst: Tensor, dstOffset: Int, count: Int) {
        guard let cost = errors.check({
            try OpContract.copy(src: src, srcOffset: srcOffset, dst: dst, dstOffset: dstOffset, count: count)
        }) else { return }
        guard count > 0 else { return }
        op("copy", cost) {
            let overlapping = mem(src) == mem(dst) && srcOffset < dstOffset + count && dstOffset < srcOffset + count
            if overlapping {
                if srcOffset == dstOffset { return }
                let tmp = scratch(count, "copy")
                launch(CLKernel.copy_f32(.tensor(src), .int(srcOffset), .tensor(tmp), .int(0),
                                         .int(count)), count: count)
                launch(CLKernel.copy_f32(.tensor(tmp), .int(0), .tensor(dst), .int(dstOffset),
                                         .int(count)), count: count)
            } else {
                launch(CLKernel.copy_f32(.tensor(src), .int(srcOffset), .tensor(dst), .int(dstOffset),
                                         .int(count)), count: count)
            }
        }
    }

    /// Bytes held in the buffer pool for reuse (not counting live tensors).
    public var pooledBytes: Int { pool.bytesInPool }

    /// Releases the pool's cached buffers (live tensors are unaffected).
    public func trimPool() { pool.trim() }

    public func synchronize() {
        let rc = clFinish(queue)
        succeeded(rc, "synchronize", "clFinish")
        harvestEvents()
    }
}
