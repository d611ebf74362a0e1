// swift-tools-version: 6.1
// The benchmarks live in their own package (STYLE §1, house rule 15): it depends on the relay
// by path, so the main build never compiles it. They drive the RELEASE binaries of the relay
// and the API stand-in as child processes; build those first with `swift build -c release`.
import PackageDescription

/// One benchmark executable: each drives the relay through BenchmarkSupport and the test kit,
/// with an ArgumentParser command line.
func benchmark(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "BenchmarkSupport",
            .product(name: "MillimetricRelay", package: "millimetric-relay"),
            .product(name: "RelayTestKit", package: "millimetric-relay"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]
    )
}

let package = Package(
    name: "millimetric-relay-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ingest-bench", targets: ["IngestBench"]),
        .executable(name: "drain-bench", targets: ["DrainBench"]),
        .executable(name: "http-bench", targets: ["HTTPBench"]),
        .executable(name: "import-bench", targets: ["ImportBench"]),
        .executable(name: "fleet-bench", targets: ["FleetBench"]),
    ],
    dependencies: [
        .package(name: "millimetric-relay", path: "../"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The system SQLite, for the bare-SQLite limit that ingest-bench compares against.
        // The relay's own SQLite wrapper is not a product, so the benchmarks bring a tiny one.
        .systemLibrary(name: "CBenchSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                "CBenchSQLite",
                .product(name: "MillimetricRelay", package: "millimetric-relay"),
                .product(name: "RelayTestKit", package: "millimetric-relay"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        benchmark("IngestBench"),
        benchmark("HTTPBench"),
        benchmark("ImportBench"),
        benchmark("FleetBench"),
        benchmark("DrainBench"),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
