import AimCLR
import FuzzDriver
import FuzzSupport

/// PyTorch checkpoints: ZIP (torch >= 1.6) or legacy, chosen by content as `aimclr convert` does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorch(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = try? WeightsFile.read(path: FuzzFile.write(data, size, suffix: ".pt"))
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_torch_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzTorch(data!, size) })
}
