import ArgumentParser

/// `--seed` and `--work-dir` (an `@OptionGroup`), for the evidence tools whose runs are random
/// (`chaos`, `powercut`): the seed that replays a run, and where its files go.
public struct EvidenceRunOptions: ParsableArguments {
    @Option(help: "Seed of the run's random choices (default: a random one, printed; pass it again to replay the run).")
    public var seed: UInt64?

    @Option(help: "Directory for the run's files (default: a new temporary one).")
    public var workDir: String?

    public init() {}

    /// `--seed`, or a new random one: call it once and print what it gives.
    public func resolvedSeed() -> UInt64 {
        seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
    }
}
