// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "InspectionWatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "inspection-watch", targets: ["InspectionWatch"]),
        .library(name: "InspectionCore", targets: ["InspectionCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Pure engine: geometry, spatial index, dwell machine, rules, parsers of bytes. No I/O, no clock.
        .target(name: "InspectionCore"),
        // libmosquitto from Debian's libmosquitto-dev.
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        // One handle class over the C client: connect, subscribe, publish, reconnect.
        .target(name: "InspectionMQTT", dependencies: ["CMosquitto"]),
        // Configuration file (YAML) → typed settings, with errors that name the setting.
        .target(
            name: "InspectionConfig",
            dependencies: ["InspectionCore", .product(name: "Yams", package: "Yams")]
        ),
        // Offline replay: files in, engine, NDJSON out.
        .target(name: "InspectionReplay", dependencies: ["InspectionCore"]),
        .executableTarget(
            name: "InspectionWatch",
            dependencies: [
                "InspectionCore", "InspectionConfig", "InspectionReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "inspection-bench",
            dependencies: [
                "InspectionCore", "InspectionReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Sources"
        ),
        .testTarget(name: "InspectionCoreTests", dependencies: ["InspectionCore"]),
        .testTarget(name: "InspectionMQTTTests", dependencies: ["InspectionMQTT"]),
        .testTarget(
            name: "InspectionReplayTests",
            dependencies: ["InspectionCore", "InspectionReplay", "InspectionConfig"]
        ),
    ]
)
