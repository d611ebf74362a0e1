import Foundation
import RelayTestKit

/// Where the release builds of `millimetric-relay` and `millimetric-api-standin` are.
///
/// In order: explicit paths, `--bin-path DIR`, `$MILLIMETRIC_BENCH_BIN_PATH`, else what
/// `swift build -c release --show-bin-path` says in the repository root. The benchmarks never
/// build the relay themselves (a debug build would measure the wrong thing, and a build would
/// compete with the run for the CPU).
public struct Binaries: Sendable {
    public var relay: String
    public var standIn: String

    /// The repository root: two levels above the Benchmarks package.
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath)  // …/Benchmarks/Sources/BenchmarkSupport/Binaries.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    public static func locate(binPath: String?, relay: String?, standIn: String?) throws(TestKitError) -> Binaries {
        var directory = binPath ?? ProcessInfo.processInfo.environment["MILLIMETRIC_BENCH_BIN_PATH"]
        if directory == nil && (relay == nil || standIn == nil) {
            directory = try showBinPath()
        }
        let found = Binaries(
            relay: relay ?? (directory! as NSString).appendingPathComponent("millimetric-relay"),
            standIn: standIn ?? (directory! as NSString).appendingPathComponent("millimetric-api-standin"))
        for path in [found.relay, found.standIn] where !FileManager.default.isExecutableFile(atPath: path) {
            throw TestKitError(
                "no executable at \(path): build the release binaries first (swift build -c release in \(repositoryRoot)), or pass --bin-path/--relay/--standin"
            )
        }
        return found
    }

    /// A warning when a source file of the relay is newer than the binary (a stale build).
    public func stalenessWarning() -> String? {
        guard let built = Self.modificationDate(relay) else { return nil }
        let sources = URL(fileURLWithPath: Self.repositoryRoot).appendingPathComponent("Sources")
        guard let files = FileManager.default.enumerator(atPath: sources.path) else { return nil }
        // RelayTestKit is test support under Sources/ that the relay never links.
        for case let file as String in files
        where (file.hasSuffix(".swift") || file.hasSuffix(".h")) && !file.hasPrefix("RelayTestKit/") {
            if let date = Self.modificationDate(sources.appendingPathComponent(file).path), date > built {
                return "warning: Sources/\(file) is newer than \(relay); rebuild with swift build -c release"
            }
        }
        return nil
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    private static func showBinPath() throws(TestKitError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "-c", "release", "--show-bin-path", "--package-path", repositoryRoot]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw TestKitError("cannot run swift build --show-bin-path: \(error); pass --bin-path")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !path.isEmpty else {
            throw TestKitError("swift build --show-bin-path failed; pass --bin-path")
        }
        return path
    }
}
