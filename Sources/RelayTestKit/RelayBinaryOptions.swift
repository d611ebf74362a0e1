import ArgumentParser

/// `--relay` and `--standin` (an `@OptionGroup`), for the tools that start the real binaries
/// (the benchmarks and the chaos test): which `millimetric-relay` and `millimetric-api-standin`
/// to run. Where they are when not given is each tool's own rule (a release build for the
/// benchmarks, the folder of the chaos tool).
public struct RelayBinaryOptions: ParsableArguments {
    @Option(help: "Path of millimetric-relay (before any default of the tool, such as --bin-path).")
    public var relay: String?

    @Option(help: "Path of millimetric-api-standin (before any default of the tool, such as --bin-path).")
    public var standin: String?

    public init() {}
}
