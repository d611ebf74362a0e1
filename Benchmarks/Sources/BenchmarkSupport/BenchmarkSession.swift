/// What every benchmark does around its measurements: stop children on Ctrl-C, find the release
/// binaries (warning when they are older than the sources), work in a fresh temp dir that is
/// removed at the end unless `keep`, and print the machine line first.
public enum BenchmarkSession {
    public static func run<T>(
        name: String, binPath: String?, relay: String?, standIn: String?, keep: Bool,
        _ body: (Binaries, TemporaryDirectory) throws -> T
    ) throws -> T {
        ChildRegistry.installSignalHandlers()
        let binaries = try Binaries.locate(binPath: binPath, relay: relay, standIn: standIn)
        if let warning = binaries.stalenessWarning() { print(warning) }
        let directory = try TemporaryDirectory(prefix: "mmr-\(name.split(separator: "-").first ?? "bench")")
        if !keep { ChildRegistry.removeOnInterrupt(directory.path) }
        defer {
            ChildRegistry.stopAll()
            if keep { print("kept \(directory.path)") } else { directory.removeAll() }
        }
        print("\(name): \(MachineInfo.summary(binaries: binaries))")
        return try body(binaries, directory)
    }
}
