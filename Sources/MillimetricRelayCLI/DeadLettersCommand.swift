import ArgumentParser
import MillimetricRelay

/// `dead-letters`: events the API refused for good.
struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, retry or purge events the API refused for good.",
        subcommands: [])

    func run() throws {
        printError("millimetric-relay dead-letters: not available yet")
        throw ExitCode(RelayExitCode.usage.rawValue)
    }
}
