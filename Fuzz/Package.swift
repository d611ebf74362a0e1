// swift-tools-version: 6.1
// libFuzzer harnesses for every parser an outside party can reach (issue 19): the ingest line
// framer, validator and ack encoder (FuzzIngest); the config file and MILLIMETRIC_RELAY_* values
// (FuzzConfiguration); the Retry-After header (FuzzRetryAfter); the API's answers the drainer
// classifies (FuzzUpstreamVerdict); the local API listener's HTTP request path (FuzzHTTPRequest).
// A separate package (STYLE §1) so the main build never compiles it; it depends on the relay by
// path. Build and run with `Fuzz/run.sh`, which builds
// optimised with `-sanitize=address` everywhere, assertions kept, and `-enable-testing` so that
// `@testable import` reaches the internal parsers. Coverage (`-sanitize=fuzzer`) is compiled into
// the relay's module only (see the end of ../Package.swift): the harnesses' own checks and the
// dependencies are not what is explored. The executables link libFuzzer (linkerSettings below).
import PackageDescription

let relay: Target.Dependency = .product(name: "MillimetricRelay", package: "millimetric-relay")
// SwiftPM names a path dependency after its directory: in a checkout directory named `fuzz` the
// relay would be `fuzz`, as this package is, and the build fails. run.sh therefore points here a
// symlink named millimetric-relay; built by hand, the relay is "../".
let relayPath = Context.environment["MILLIMETRIC_RELAY_FUZZ_RELAY_PATH"] ?? "../"
let fuzzerLink: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]

let package = Package(
    name: "millimetric-relay-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "millimetric-relay", path: relayPath),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The C entry points SwiftPM's link needs (see FuzzerDriver.c).
        .target(name: "CFuzzerDriver"),
        // What the harnesses share: failing an invariant, reading structured input.
        .target(name: "FuzzSupport", dependencies: [.product(name: "RelayTestKit", package: "millimetric-relay")]),
        .executableTarget(
            name: "FuzzIngest",
            dependencies: ["CFuzzerDriver", "FuzzSupport", relay, .product(name: "NIOCore", package: "swift-nio")],
            linkerSettings: fuzzerLink
        ),
        .executableTarget(name: "FuzzConfiguration", dependencies: ["CFuzzerDriver", "FuzzSupport", relay], linkerSettings: fuzzerLink),
        .executableTarget(name: "FuzzRetryAfter", dependencies: ["CFuzzerDriver", "FuzzSupport", relay], linkerSettings: fuzzerLink),
        .executableTarget(
            name: "FuzzHTTPRequest",
            dependencies: [
                "CFuzzerDriver", "FuzzSupport", relay,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: fuzzerLink
        ),
        .executableTarget(name: "FuzzUpstreamVerdict", dependencies: ["CFuzzerDriver", "FuzzSupport", relay], linkerSettings: fuzzerLink),
    ],
    swiftLanguageModes: [.v6]
)
