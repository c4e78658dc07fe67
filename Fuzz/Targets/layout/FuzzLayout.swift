import FuzzDriver
import FuzzSupport
import Skeleton

/// Skeleton layout JSON, then the graph built from it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLayout(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    if let layout = try? SkeletonLayout.load(json: FuzzFile.write(data, size, suffix: ".json")) {
        _ = SpatialGraph(layout: layout).adjacency
    }
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_layout_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzLayout(data!, size) })
}
