// swift-tools-version:6.0
import PackageDescription

/// Unchecked exclusivity only where hot loops live; everything else keeps Swift's checks.
let fastLoops: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"]),
]

let package = Package(
    name: "aimclr",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "aimclr", targets: ["aimclr"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL", pkgConfig: "clblast",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers", "libclblast-dev"])]),
        // zlib, for the tests that decode the PNG screenshots of a rendered report.
        // Open MPI, for data-parallel training under `mpirun` (Sources/MPIRuntime).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Device abstraction: Tensor, Device protocol, op catalogue, Philox, selector.
        .target(name: "Compute"),
        .target(name: "CPUPeak", cSettings: [.unsafeFlags(["-O2"])]),
        // Direct convolution kernels (AVX-512, chosen at run time); never built with fast-math.
        .target(name: "CPUKernels", cSettings: [.unsafeFlags(["-O3", "-fno-fast-math"])]),
        .target(name: "CPUBackend", dependencies: ["Compute", "CBLAS", "CPUPeak", "CPUKernels"], swiftSettings: fastLoops),
        .executableTarget(name: "EmbedKernelsTool", path: "Sources/EmbedKernelsTool"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["EmbedKernelsTool"]),
        .plugin(name: "EmbedCommit", capability: .buildTool()),
        // CLBlast's C++ RetrieveParameters behind a C function (the C API can only override).
        .target(name: "CLBlastParameters", dependencies: ["COpenCL"], linkerSettings: [.linkedLibrary("clblast")]),
        .target(name: "OpenCLBackend", dependencies: ["Compute", "COpenCL", "CLBlastParameters"],
                plugins: ["EmbedKernels"]),
        .target(name: "Backends", dependencies: ["Compute", "CPUBackend", "OpenCLBackend"]),

        // Data, layers, method.
        .target(name: "Skeleton", dependencies: ["Compute"], swiftSettings: fastLoops),
        // Ranks and collectives of a data-parallel job (no MPI here: one process is the identity).
        .target(name: "DataParallel", dependencies: ["Compute"]),
        // The same collectives over Open MPI, chosen when the binary runs under `mpirun`.
        .target(name: "MPIRuntime", dependencies: ["DataParallel", "CMPI"]),
        .target(name: "NN", dependencies: ["Compute", "DataParallel"]),
        .target(name: "AimCLR", dependencies: ["NN", "Skeleton", "Compute", "DataParallel", "Yams"], plugins: ["EmbedCommit"]),

        // Benchmarks (op catalogue and training-step timing), used by `aimclr bench`.
        .target(name: "Benchmarking", dependencies: ["Compute", "CBLAS", "AimCLR", "Skeleton", "DataParallel"], path: "Benchmarks/Benchmarking"),

        // Command line.
        .executableTarget(name: "aimclr", dependencies: [
            "AimCLR", "NN", "Skeleton", "Compute", "Backends", "Benchmarking", "CPUBackend", "OpenCLBackend",
            "DataParallel", "MPIRuntime",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Seeded mutation fuzzing shared by the reader tests of several modules.
        .target(name: "TestSupport", dependencies: ["CZlib"], path: "Tests/TestSupport"),
        .testTarget(name: "ComputeTests", dependencies: ["Compute", "CPUBackend", "OpenCLBackend", "Backends"]),
        .testTarget(name: "SkeletonTests", dependencies: ["Skeleton", "Compute", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Compute", "Backends", "CPUBackend", "OpenCLBackend", "DataParallel"]),
        .testTarget(name: "AimCLRTests", dependencies: ["TestSupport", "AimCLR", "NN", "Skeleton", "Compute", "Backends", "DataParallel",
                                                         "CPUBackend"]),
    ]
)
