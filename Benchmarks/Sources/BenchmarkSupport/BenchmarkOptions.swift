import ArgumentParser
import RelayTestKit

/// The options every benchmark takes (`@OptionGroup`): where the release binaries are, and
/// whether to keep the temp dir.
public struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Directory with the release binaries (default: swift build -c release --show-bin-path).")
    public var binPath: String?

    /// `--relay` and `--standin`: they override `--bin-path`.
    @OptionGroup public var binaries: RelayBinaryOptions

    @Flag(help: "Keep the temp dir (logs, outboxes) for inspection.")
    public var keep = false

    public init() {}
}
