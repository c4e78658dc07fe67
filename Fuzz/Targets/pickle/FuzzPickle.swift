import FuzzDriver
import FuzzSupport
import Skeleton

/// The unpickler (label files and PyTorch `data.pkl`), then the label-file structure check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var u = Unpickler(bytes: FuzzFile.bytes(data, size), source: "fuzz.pkl")
    _ = try? u.load()
    _ = try? LabelFile.read(FuzzFile.write(data, size, suffix: ".pkl"))
    return 0
}

/// The entry point SwiftPM links as `main`: hands control to libFuzzer's driver.
@_cdecl("fuzz_pickle_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    aimclr_fuzz_main(argc, argv, { data, size in fuzzPickle(data!, size) })
}
