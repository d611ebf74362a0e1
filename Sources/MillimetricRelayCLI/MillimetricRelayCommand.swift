import ArgumentParser
import MillimetricRelay

/// `millimetric-relay`: the daemon and the tools around it (SPEC §2).
@main
struct MillimetricRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millimetric-relay",
        abstract: "A durable on-disk relay of analytics events to the Millimetric API.",
        discussion: """
            Local programs write NDJSON events to a Unix socket; the relay commits each to a SQLite \
            outbox before acknowledging it, and delivers the outbox to the API in batches.
            """,
        version: RelayVersion.current,
        subcommands: [RunCommand.self, SendCommand.self, ImportCommand.self, StatusCommand.self, DeadLettersCommand.self, CheckConfigCommand.self]
    )
}
