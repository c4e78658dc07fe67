import FuzzDriver
import FuzzSupport
import Skeleton

/// PKU-MMD skeleton text and label files (the same input read as both), then the action cut.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPKU(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzFile.write(data, size, suffix: ".txt")
    let seq = (try? PKUReader.readSkeleton(path: path)) ?? SkeletonSequence(frameCount: 4, jointCount: 25, bodySlots: 2)
    for action in (try? PKUReader.readLabels(path: path)) ?? [] {
        _ = PKUReader.cut(seq, action: action, maxFrames: 8, endInclusive: true)
    }
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_pku_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzPKU(data!, size) })
}
