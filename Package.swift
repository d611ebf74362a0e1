// swift-tools-version: 6.1
import PackageDescription

// The products of the packages below that several targets use, each spelled once.
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "millimetric-relay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "millimetric-relay", targets: ["MillimetricRelayCLI"]),
        .executable(name: "millimetric-api-standin", targets: ["MillimetricAPIStandIn"]),
        .library(name: "MillimetricRelay", targets: ["MillimetricRelay"]),
        // Test support only, for the power-cut driver in Chaos/: never a dependency of the relay.
        .library(name: "PowerCutVFS", targets: ["PowerCutVFS"]),
        // Test support only, for the tests, Benchmarks/ and Chaos/: never a dependency of the relay.
        .library(name: "RelayTestKit", targets: ["RelayTestKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from the system, each wrapped by exactly one *Support target.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),

        .target(name: "SQLiteSupport", dependencies: ["CSQLite"]),
        .target(name: "CurlSupport", dependencies: ["CCurl"]),
        .target(name: "SystemdSupport", dependencies: ["CSystemd"]),
        // A crash-simulating SQLite VFS (test support, issue 14): the power-cut driver
        // (Chaos/powercut.sh) and its tests link it; millimetric-relay never does.
        .target(name: "PowerCutVFS", dependencies: ["CSQLite"]),

        .target(
            name: "MillimetricRelay",
            dependencies: [
                "SQLiteSupport", "CurlSupport", "SystemdSupport",
                nioCore, nioPosix, nioHTTP1, logging, metrics, prometheus, serviceLifecycle,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: [
                // Test hooks (Support/TestHooks.swift) exist in debug builds only, which is what
                // `swift test` runs; release binaries carry none of them.
                .define("MILLIMETRIC_RELAY_TEST_HOOKS", .when(configuration: .debug)),
            ]
        ),
        .executableTarget(
            name: "MillimetricRelayCLI",
            dependencies: ["MillimetricRelay", argumentParser, logging, serviceLifecycle],
            // Release links of the daemon only (the packaged binary, issue #11): memory a running
            // relay maps from its own file. The toolchain's static-stdlib-args.lnk exports every
            // symbol (-export-dynamic): 15,000 entries, 1.4 MB of .dynsym/.dynstr/.gnu.hash that
            // ld.so searches on each library's lookups; nothing dlsym()s the relay, so don't.
            // A PIE has 57,000 relative relocations (1.3 MB of .rela.dyn, read whole at start);
            // lld packs them into 11 KB of DT_RELR (glibc >= 2.36, Debian 12), which gold, the
            // default linker, cannot. Measured on the packaged binary: -2.2 MB peak and at rest.
            // deploy/link-order.txt (scripts/link-order.sh: every function that runs at start
            // and under load) puts that code in one block at the start of .text, so the kernel's
            // 64 KB fault-around maps 6 MB of it instead of 9; stale names are ignored.
            linkerSettings: [
                .unsafeFlags([
                    "-use-ld=lld",
                    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                    "-Xlinker", "--no-export-dynamic",
                    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/deploy/link-order.txt",
                    "-Xlinker", "--no-warn-symbol-ordering",
                ], .when(configuration: .release)),
            ]
        ),
        // A local stand-in for the Millimetric API, written independently of the relay's own
        // validation so that it can act as a test oracle.
        .executableTarget(
            name: "MillimetricAPIStandIn",
            dependencies: [nioCore, nioPosix, nioHTTP1, argumentParser, logging]
        ),

        // The one test kit (issue 15): child processes, the relay and the stand-in as child
        // processes, a loopback HTTP client, the seeded generator. The tests, the benchmarks and
        // the chaos tools link it; millimetric-relay never does.
        // The option groups the tools that drive the binaries share (Benchmarks/, Chaos/) need
        // ArgumentParser.
        .target(name: "RelayTestKit", dependencies: ["MillimetricRelay", argumentParser]),

        .testTarget(name: "SQLiteSupportTests", dependencies: ["SQLiteSupport"]),
        .testTarget(name: "CurlSupportTests", dependencies: ["CurlSupport"]),
        .testTarget(name: "SystemdSupportTests", dependencies: ["SystemdSupport"]),
        .testTarget(name: "PowerCutVFSTests", dependencies: ["PowerCutVFS", "SQLiteSupport"]),
        .testTarget(
            name: "MillimetricRelayTests",
            dependencies: [
                "MillimetricRelay", "RelayTestKit", "SystemdSupport", "SQLiteSupport",
                nioCore, nioPosix, logging, metrics, prometheus,
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["MillimetricRelay", "RelayTestKit", "SQLiteSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}

// Fuzz builds only (Fuzz/run.sh sets MILLIMETRIC_RELAY_FUZZ_COVERAGE=1, issue 19): libFuzzer's
// coverage instrumentation on the relay's own module, which holds every parser the harnesses
// drive, and not on swift-nio, SQLite's wrapper and the other dependencies (40,328 counters
// instead of ~283,000, and coverage figures that speak of the relay's code).
if Context.environment["MILLIMETRIC_RELAY_FUZZ_COVERAGE"] == "1" {
    for target in package.targets where target.name == "MillimetricRelay" {
        // Through -Xfrontend: of several -sanitize= options swiftc keeps only the last, which is
        // run.sh's -sanitize=address for every module; the frontend's own comes after it.
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-Xfrontend", "-sanitize=fuzzer,address"])]
    }
}
