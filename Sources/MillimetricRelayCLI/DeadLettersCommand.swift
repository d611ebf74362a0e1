import ArgumentParser
import FoundationEssentials
import MillimetricRelay

/// `dead-letters list|retry|purge`: events the API refused for good (SPEC §2, §6).
struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, retry or purge events the API refused for good.",
        subcommands: [List.self, Retry.self, Purge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the dead letters with the API's answer.")

        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Print NDJSON for machines.") var json = false

        func run() throws {
            let configuration = try options.resolve()
            let letters = try withStore(configuration) { store throws(OutboxError) in try store.list() }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                encoder.keyEncodingStrategy = .convertToSnakeCase
                for letter in letters { print(String(decoding: try encoder.encode(letter), as: UTF8.self)) }
                return
            }
            if letters.isEmpty { print("no dead letters") }
            for letter in letters {
                print("#\(letter.id) \(letter.kind) event_id=\(letter.eventID) failed \(letter.failedAt.formatted(.iso8601)) HTTP \(letter.httpStatus)")
                print("  answer: \(letter.response)")
                print("  event:  \(letter.body)")
            }
        }
    }

    // Retry and Purge look alike on purpose: each is a subcommand type (ArgumentParser wants one
    // per subcommand) that applies one store operation to the selection; what they share, the
    // options, the selection and `withStore`, is written once.
    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue dead letters for delivery again.")

        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var selection: DeadLetterSelection

        func run() throws {
            let configuration = try options.resolve()
            let count = try withStore(configuration) { store throws(OutboxError) in try store.retry(ids: selection.selected) }
            print("queued \(count) dead letter(s) for delivery again")
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var selection: DeadLetterSelection

        func run() throws {
            let configuration = try options.resolve()
            let count = try withStore(configuration) { store throws(OutboxError) in try store.purge(ids: selection.selected) }
            print("purged \(count) dead letter(s)")
        }
    }
}

private func withStore<T>(_ configuration: RelayConfiguration, _ body: (DeadLetterStore) throws(OutboxError) -> T) throws -> T {
    do {
        return try body(DeadLetterStore(databasePath: configuration.databasePath))
    } catch {
        printError("millimetric-relay dead-letters: \(error)")
        throw ExitCode(error.isConfigurationProblem ? RelayExitCode.configuration.rawValue : RelayExitCode.unavailable.rawValue)
    }
}
