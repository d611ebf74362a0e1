import RelayTestKit

/// What every benchmark does around its measurements: stop children on Ctrl-C, find the release
/// binaries (warning when they are older than the sources), work in a fresh temp dir that is
/// removed at the end unless `keep`, and print the machine line first.
public enum BenchmarkSession {
    public static func run<T>(
        name: String, options: BenchmarkOptions, _ body: (Binaries, TemporaryDirectory) throws -> T
    ) throws -> T {
        ChildRegistry.installSignalHandlers(name: name)
        let binaries = try Binaries.locate(binPath: options.binPath, relay: options.binaries.relay, standIn: options.binaries.standin)
        if let warning = binaries.stalenessWarning() { print(warning) }
        let directory = try TemporaryDirectory(prefix: "mmr-\(name.split(separator: "-").first ?? "bench")")
        if !options.keep { ChildRegistry.removeOnInterrupt(directory.path) }
        defer {
            ChildRegistry.stopAll()
            if options.keep { print("kept \(directory.path)") } else { directory.removeAll() }
        }
        print("\(name): \(MachineInfo.summary(binaries: binaries))")
        return try body(binaries, directory)
    }
}
