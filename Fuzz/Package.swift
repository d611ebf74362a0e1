// swift-tools-version: 6.1
// libFuzzer harnesses for every parser an outside party can reach (issue 19): the ingest line
// framer, validator and ack encoder (FuzzIngest); the config file and MILLIMETRIC_RELAY_* values
// (FuzzConfiguration); the Retry-After header (FuzzRetryAfter); the API's answers the drainer
// classifies (FuzzUpstreamVerdict). A separate package (STYLE §1) so the main build never
// compiles it; it depends on the relay by path. Build and run with `Fuzz/run.sh`, which builds
// optimised with `-sanitize=fuzzer,address`, assertions kept, and `-enable-testing` so that
// `@testable import` reaches the internal parsers.
import PackageDescription

let relay: Target.Dependency = .product(name: "MillimetricRelay", package: "millimetric-relay")

let package = Package(
    name: "millimetric-relay-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "millimetric-relay", path: "../"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        // The C entry points SwiftPM's link needs (see FuzzerDriver.c).
        .target(name: "CFuzzerDriver"),
        // What the harnesses share: failing an invariant, reading structured input.
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzIngest",
            dependencies: ["CFuzzerDriver", "FuzzSupport", relay, .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(name: "FuzzConfiguration", dependencies: ["CFuzzerDriver", "FuzzSupport", relay]),
        .executableTarget(name: "FuzzRetryAfter", dependencies: ["CFuzzerDriver", "FuzzSupport", relay]),
        .executableTarget(name: "FuzzUpstreamVerdict", dependencies: ["CFuzzerDriver", "FuzzSupport", relay]),
    ],
    swiftLanguageModes: [.v6]
)
