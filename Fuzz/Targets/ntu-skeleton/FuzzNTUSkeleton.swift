import FuzzDriver
import FuzzSupport
import Skeleton

/// NTU RGB+D `.skeleton` text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNTUSkeleton(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = try? NTUSkeletonReader.parse(bytes: FuzzFile.bytes(data, size), name: "fuzz.skeleton")
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_ntu_skeleton_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzNTUSkeleton(data!, size) })
}
