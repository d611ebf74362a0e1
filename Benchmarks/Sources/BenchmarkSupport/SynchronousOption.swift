import ArgumentParser

/// The relay's `synchronous` settings a benchmark can run.
public enum SynchronousMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    case full, normal
}

/// `--synchronous` (an `@OptionGroup`) for the benchmarks that run one relay setting: the
/// outbox's durability. ingest-bench takes a list of modes instead.
public struct SynchronousOption: ParsableArguments {
    @Option(help: "synchronous mode of the relay (full or normal).")
    public var synchronous = SynchronousMode.full

    public init() {}
}
