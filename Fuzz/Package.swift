// swift-tools-version: 6.1
// libFuzzer harnesses for the relay's ingest path (the line framer, the validator and the ack
// encoder). A separate package (STYLE §1) so the main build never compiles it; it depends on
// the relay by path. Build and run with `Fuzz/run.sh SECONDS`, which passes
// `-sanitize=fuzzer,address`: that needs a debug build, where `@testable import` reaches the
// internal LineFramer and AckEncoder.
import PackageDescription

let package = Package(
    name: "millimetric-relay-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "millimetric-relay", path: "../"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        // The C entry point SwiftPM's link needs (see FuzzerDriver.c).
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "FuzzIngest",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "MillimetricRelay", package: "millimetric-relay"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
