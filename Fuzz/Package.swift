// swift-tools-version:6.0
// libFuzzer entry points, one executable per reader. Not part of the main build or `swift test`.
//
//   cd Fuzz
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   ASAN_OPTIONS=detect_leaks=0 .build/debug/fuzz-npy -max_total_time=60 corpus/npy
//
// The reader modules are the main package's own sources (Sources/* are links to ../Sources/*),
// compiled here with the fuzzer's coverage instrumentation.
import PackageDescription

let readers = ["npy", "pickle", "ntu-skeleton", "pku", "layout", "safetensors", "torch", "yaml"]

let package = Package(
    name: "aimclr-fuzz",
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "Compute"),
        .target(name: "Skeleton", dependencies: ["Compute"]),
        .target(name: "NN", dependencies: ["Compute"]),
        .target(name: "AimCLR", dependencies: ["NN", "Skeleton", "Compute", "Yams"]),
        .target(name: "FuzzDriver", path: "Targets/FuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["FuzzDriver"], path: "Targets/FuzzSupport"),
    ] + readers.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["AimCLR", "NN", "Skeleton", "FuzzSupport", "FuzzDriver"],
                          path: "Targets/\(name)")
    }
)
