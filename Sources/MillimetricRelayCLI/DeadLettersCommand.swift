import ArgumentParser
import FoundationEssentials
import MillimetricRelay

/// `dead-letters list|retry|purge`: events the API refused for good (SPEC §2, §6).
struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, retry or purge events the API refused for good.",
        subcommands: [List.self, Change<Retry>.self, Change<Purge>.self])

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

    /// `retry` and `purge`: one store operation applied to the selection. ArgumentParser wants a
    /// type per subcommand, so one generic command serves both.
    struct Change<Operation: DeadLetterOperation>: ParsableCommand {
        static var configuration: CommandConfiguration { Operation.configuration }

        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var selection: DeadLetterSelection

        func run() throws {
            let configuration = try options.resolve()
            let count = try withStore(configuration) { store throws(OutboxError) in try Operation.apply(store, selection.selected) }
            print(Operation.report(count))
        }
    }

    enum Retry: DeadLetterOperation {
        static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue dead letters for delivery again.")
        static func apply(_ store: DeadLetterStore, _ ids: [Int64]?) throws(OutboxError) -> Int { try store.retry(ids: ids) }
        static func report(_ count: Int) -> String { "queued \(count) dead letter(s) for delivery again" }
    }

    enum Purge: DeadLetterOperation {
        static let configuration = CommandConfiguration(commandName: "purge", abstract: "Delete dead letters for good.")
        static func apply(_ store: DeadLetterStore, _ ids: [Int64]?) throws(OutboxError) -> Int { try store.purge(ids: ids) }
        static func report(_ count: Int) -> String { "purged \(count) dead letter(s)" }
    }
}

/// What `dead-letters retry` or `purge` does to the selected dead letters (nil ids: all).
protocol DeadLetterOperation {
    static var configuration: CommandConfiguration { get }
    static func apply(_ store: DeadLetterStore, _ ids: [Int64]?) throws(OutboxError) -> Int
    static func report(_ count: Int) -> String
}

private func withStore<T>(_ configuration: RelayConfiguration, _ body: (DeadLetterStore) throws(OutboxError) -> T) throws -> T {
    do {
        return try body(DeadLetterStore(databasePath: configuration.databasePath))
    } catch {
        printError("millimetric-relay dead-letters: \(error)")
        throw ExitCode(error.isConfigurationProblem ? RelayExitCode.configuration.rawValue : RelayExitCode.unavailable.rawValue)
    }
}
