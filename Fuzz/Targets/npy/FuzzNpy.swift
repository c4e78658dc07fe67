import FuzzDriver
import FuzzSupport
import Skeleton

/// `.npy` header parsing and element access: every error must be thrown, never trapped.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzFile.write(data, size, suffix: ".npy")
    if let a = try? NpyArray.read(path) {
        _ = a.floats()
        if let n = a.shape.first, n > 0 { _ = a.floats(row: n - 1) }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_npy_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzNpy(data!, size) })
}
