import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import MillimetricRelay

/// `run`: the daemon, in the foreground, as systemd runs it.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the relay daemon in the foreground.",
        discussion: """
            Exits 0 after SIGTERM/SIGINT; 73 when the state directory or outbox cannot be created \
            or written; 74 on an I/O error or a lock another program holds on the outbox; 75 only \
            when another daemon holds the socket or state directory; 78 on a configuration error.
            """)

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        // A peer that hangs up must be an error return, never a signal that kills the daemon.
        signal(SIGPIPE, SIG_IGN)
        let configuration = try options.resolve()
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        // Under systemd (stderr is the journal stream it announced) log natively, so levels become
        // priorities and metadata become fields; in a terminal or a file, the text format.
        if JournalLogHandler.standardErrorIsJournal(environment: ProcessInfo.processInfo.environment) {
            LoggingSystem.bootstrap { _ in
                var handler = JournalLogHandler(identifier: "millimetric-relay")
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "millimetric-relay")
        let key: APIKey
        do {
            key = try RelayConfiguration.loadKey(keyFileFlag: options.keyFile, configuration: configuration)
        } catch {
            logger.critical("\(error.message)")
            throw ExitCode(RelayExitCode.configuration.rawValue)
        }
        logger.info("starting", metadata: [
            "relay.version": "\(RelayVersion.current)", "upstream.host": "\(configuration.host)", "upstream.key": "\(key)",
            "ingest.socket": "\(configuration.socketPath)", "outbox.state_dir": "\(configuration.stateDirectory)",
        ])
        let daemon = RelayDaemon(configuration: configuration, key: key, keyFileFlag: options.keyFile, configFile: options.config, flags: options.flags)
        do {
            try await daemon.run(logger: logger)
        } catch let exit as RelayExit {
            logger.critical("\(exit.message)")
            throw ExitCode(exit.code.rawValue)
        }
    }
}
