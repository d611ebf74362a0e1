// swift-tools-version: 6.1
// The chaos test (issue 6, "evidence that it loses nothing"): producers stream events into a
// real `millimetric-relay run` through IngestClient while the daemon is killed with SIGKILL at
// random moments and the API stand-in flaps; at the end every acknowledged event_id must have
// arrived. A separate package (STYLE §1): it depends on the relay by path, so the main build
// never compiles it, and `swift build --product millimetric-relay` in this package builds the
// daemon and the stand-in into the same folder, where `chaos` finds them. Run `Chaos/run.sh`.
//
// `powercut` (issue 14, evidence against power loss) runs the outbox writer in-process through
// the relay's crash-simulating SQLite VFS (the main package's test-support `PowerCutVFS`, which
// only this tool links) and checks the disk image after each simulated power cut. Run
// `Chaos/powercut.sh`.
import PackageDescription

/// What both tools drive the relay with: the relay's library, the test kit, a command line.
let relayTools: [Target.Dependency] = [
    .product(name: "MillimetricRelay", package: "millimetric-relay"),
    .product(name: "RelayTestKit", package: "millimetric-relay"),
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

let package = Package(
    name: "millimetric-relay-chaos",
    platforms: [.macOS(.v15)],
    products: [("chaos", "Chaos"), ("powercut", "PowerCut")].map { product, target in .executable(name: product, targets: [target]) },
    dependencies: [
        .package(name: "millimetric-relay", path: "../"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(name: "Chaos", dependencies: relayTools),
        // The system SQLite, to read the images apart from the relay's own wrapper.
        .systemLibrary(name: "CPowerCutSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .executableTarget(
            name: "PowerCut",
            dependencies: relayTools + [
                "CPowerCutSQLite",
                .product(name: "PowerCutVFS", package: "millimetric-relay"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
