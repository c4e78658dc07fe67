import AimCLR
import FuzzDriver
import FuzzSupport

/// Pretraining configuration YAML.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = try? PretrainConfig.load(yaml: FuzzFile.write(data, size, suffix: ".yaml"))
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_yaml_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzYAML(data!, size) })
}
