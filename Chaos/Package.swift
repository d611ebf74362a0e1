// swift-tools-version: 6.1
// The chaos test (issue 6, "evidence that it loses nothing"): producers stream events into a
// real `millimetric-relay run` through IngestClient while the daemon is killed with SIGKILL at
// random moments and the API stand-in flaps; at the end every acknowledged event_id must have
// arrived. A separate package (STYLE §1): it depends on the relay by path, so the main build
// never compiles it, and `swift build --product millimetric-relay` in this package builds the
// daemon and the stand-in into the same folder, where `chaos` finds them. Run `Chaos/run.sh`.
import PackageDescription

let package = Package(
    name: "millimetric-relay-chaos",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chaos", targets: ["Chaos"]),
    ],
    dependencies: [
        .package(name: "millimetric-relay", path: "../"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "Chaos",
            dependencies: [
                .product(name: "MillimetricRelay", package: "millimetric-relay"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
