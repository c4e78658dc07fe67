import COpenCL
import Compute

/// A kernel launch's file, name and arguments, built by the generated `CLKernel` functions.
struct KernelCall {
    let file: String
    let name: String
    let args: [KernelArg]
}

// One argument type per kind of kernel parameter, so that `CLKernel`'s functions (typed by each
// kernel's OpenCL signature) accept only the right kind in each position.

/// A `__global` pointer parameter.
struct KernelBufferArg {
    let arg: KernelArg
    static func tensor(_ t: Tensor) -> KernelBufferArg { KernelBufferArg(arg: .tensor(t)) }
    static func mem(_ m: cl_mem) -> KernelBufferArg { KernelBufferArg(arg: .mem(m)) }
}

/// An `int` parameter.
struct KernelIntArg {
    let arg: KernelArg
    static func int(_ v: Int) -> KernelIntArg { KernelIntArg(arg: .int(v)) }
}

/// A `uint` parameter.
struct KernelUIntArg {
    let arg: KernelArg
    static func uint(_ v: UInt32) -> KernelUIntArg { KernelUIntArg(arg: .uint(v)) }
}

/// A `float` parameter.
struct KernelFloatArg {
    let arg: KernelArg
    static func float(_ v: Float) -> KernelFloatArg { KernelFloatArg(arg: .float(v)) }
}

/// A `__local` pointer parameter: its size per work-item of the group, or in bytes.
struct KernelLocalArg {
    let arg: KernelArg
    static func localPerItem(_ bytes: Int) -> KernelLocalArg { KernelLocalArg(arg: .localPerItem(bytes)) }
    static func localBytes(_ bytes: Int) -> KernelLocalArg { KernelLocalArg(arg: .localBytes(bytes)) }
}
