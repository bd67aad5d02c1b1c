// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "InspectionWatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "inspection-watch", targets: ["InspectionWatch"]),
        .executable(name: "inspection-sim", targets: ["inspection-sim"]),
        .library(name: "InspectionCore", targets: ["InspectionCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // NIOLockedValueBox: the one way state is shared between the daemon's threads.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // ServiceGroup: `serve`'s parts started in order, stopped in reverse on SIGTERM/SIGINT.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // Pure engine: geometry, spatial index, dwell machine, rules, parsers of bytes. No I/O, no clock.
        .target(name: "InspectionCore", dependencies: ["CPrefetch"]),
        // One C inline function Swift cannot spell: a cache prefetch hint (the spatial index's look-ahead).
        .target(name: "CPrefetch"),
        // libmosquitto from Debian's libmosquitto-dev.
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        // One handle class over the C client: connect, subscribe, publish, reconnect.
        .target(name: "InspectionMQTT", dependencies: ["CMosquitto"]),
        // The SQLite store (GRDB, WAL): journal of received messages, visits, alerts, outbox.
        .target(
            name: "InspectionStore",
            dependencies: ["InspectionCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // `serve`: MQTT in, journal, engine, store, alerts out.
        .target(
            name: "InspectionDaemon",
            dependencies: [
                "InspectionCore", "InspectionConfig", "InspectionMQTT", "InspectionStore", "InspectionFiles",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The daemon's HTTP side (Hummingbird): the supervision API, its OpenAPI document, the web
        // page, health and Prometheus metrics.
        .target(
            name: "InspectionHTTP",
            dependencies: [
                "InspectionCore", "InspectionConfig", "InspectionStore", "InspectionDaemon", "InspectionExports",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Resources/openapi.yaml"), .embedInCode("Resources/index.html"), .embedInCode("Resources/app.js")]
        ),
        // Configuration file (YAML) → typed settings, with errors that name the setting.
        .target(
            name: "InspectionConfig",
            dependencies: ["InspectionCore", .product(name: "Yams", package: "Yams")]
        ),
        // Files: reading and writing them whole, the registry folder (replay, import, serve, the simulator).
        .target(name: "InspectionFiles", dependencies: ["InspectionCore"]),
        // Tables for the office to take away: CSV (UTF-8 with BOM, for Excel) and XLSX.
        .target(name: "InspectionExports", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        // Offline replay: files in, engine, NDJSON out.
        .target(name: "InspectionReplay", dependencies: ["InspectionCore", "InspectionFiles"]),
        .executableTarget(
            name: "InspectionWatch",
            dependencies: [
                "InspectionCore", "InspectionConfig", "InspectionReplay", "InspectionFiles", "InspectionDaemon", "InspectionStore", "InspectionHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The simulator: scenarios on real roads with ground truth, and a tracker publisher.
        .target(
            name: "InspectionSim",
            dependencies: ["InspectionCore", "InspectionReplay", "InspectionFiles", "InspectionMQTT"],
            path: "Simulator/Sources/InspectionSim"
        ),
        .executableTarget(
            name: "inspection-sim",
            dependencies: [
                "InspectionSim", "InspectionCore", "InspectionReplay", "InspectionFiles", "InspectionMQTT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Simulator/Sources/inspection-sim"
        ),
        .executableTarget(
            name: "inspection-bench",
            dependencies: [
                "InspectionCore", "InspectionReplay", "InspectionFiles", "InspectionStore", "InspectionMQTT", "InspectionSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/Sources"
        ),
        // Fuzzing: each parser behind one libFuzzer entry point (scripts/fuzz builds it with
        // -sanitize=fuzzer); built plainly it replays inputs, as the regression tests do.
        .target(
            name: "InspectionFuzzTargets",
            dependencies: ["InspectionCore", "InspectionConfig"],
            path: "Fuzz/Sources/InspectionFuzzTargets"
        ),
        .executableTarget(
            name: "inspection-fuzz",
            dependencies: ["InspectionFuzzTargets"],
            path: "Fuzz/Sources/inspection-fuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["InspectionFuzzTargets", "InspectionCore", "InspectionConfig", "InspectionTestSupport"]
        ),
        .testTarget(name: "InspectionCoreTests", dependencies: ["InspectionCore", "InspectionTestSupport"]),
        // A real broker and processes for the tests that need them.
        .target(name: "InspectionTestSupport", dependencies: ["InspectionCore", "InspectionMQTT", "InspectionSim"], path: "Tests/Support/InspectionTestSupport"),
        .testTarget(name: "InspectionMQTTTests", dependencies: ["InspectionMQTT", "InspectionTestSupport"]),
        .testTarget(
            name: "InspectionDaemonTests",
            dependencies: ["InspectionDaemon", "InspectionStore", "InspectionMQTT", "InspectionReplay", "InspectionFiles", "InspectionCore",
                           "InspectionConfig", "InspectionSim", "InspectionTestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "InspectionHTTPTests",
            dependencies: ["InspectionHTTP", "InspectionDaemon", "InspectionStore", "InspectionConfig", "InspectionCore",
                           "InspectionMQTT", "InspectionSim", "InspectionTestSupport", .product(name: "Yams", package: "Yams"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .testTarget(
            name: "InspectionSimTests",
            dependencies: ["InspectionSim", "InspectionCore", "InspectionReplay", "InspectionFiles", "InspectionMQTT", "InspectionTestSupport"]
        ),
        .testTarget(
            name: "InspectionReplayTests",
            dependencies: ["InspectionCore", "InspectionReplay", "InspectionFiles", "InspectionConfig", "InspectionTestSupport"]
        ),
    ]
)
