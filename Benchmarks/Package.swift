// swift-tools-version: 6.1
// The benchmarks live in their own package (STYLE §1, house rule 15): it depends on the relay
// by path, so the main build never compiles it. They drive the RELEASE binaries of the relay
// and the API stand-in as child processes; build those first with `swift build -c release`.
import PackageDescription

/// What the benchmarks and their support drive the relay with: the relay's library, the test
/// kit, a command line.
let relayTools: [Target.Dependency] = [
    .product(name: "MillimetricRelay", package: "millimetric-relay"),
    .product(name: "RelayTestKit", package: "millimetric-relay"),
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

/// The benchmark executables (product, target), each named once: every one drives the relay
/// through BenchmarkSupport.
let benchmarks = [
    ("ingest-bench", "IngestBench"), ("drain-bench", "DrainBench"), ("http-bench", "HTTPBench"),
    ("import-bench", "ImportBench"), ("fleet-bench", "FleetBench"),
]

let package = Package(
    name: "millimetric-relay-benchmarks",
    platforms: [.macOS(.v15)],
    products: benchmarks.map { product, target in .executable(name: product, targets: [target]) },
    dependencies: [
        .package(name: "millimetric-relay", path: "../"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The system SQLite, for the bare-SQLite limit that ingest-bench compares against.
        // The relay's own SQLite wrapper is not a product, so the benchmarks bring a tiny one.
        .systemLibrary(name: "CBenchSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "BenchmarkSupport", dependencies: ["CBenchSQLite"] + relayTools),
    ] + benchmarks.map { _, target in .executableTarget(name: target, dependencies: ["BenchmarkSupport"] + relayTools) },
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
