import ArgumentParser

/// The options every benchmark takes (`@OptionGroup`): where the release binaries are, and
/// whether to keep the temp dir.
public struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Directory with the release binaries (default: swift build -c release --show-bin-path).")
    public var binPath: String?

    @Option(help: "Path of millimetric-relay (overrides --bin-path).")
    public var relay: String?

    @Option(help: "Path of millimetric-api-standin (overrides --bin-path).")
    public var standin: String?

    @Flag(help: "Keep the temp dir (logs, outboxes) for inspection.")
    public var keep = false

    public init() {}
}
