import ArgumentParser
import Foundation
import MillimetricRelay

/// The options every command that reads the configuration shares; each overrides the config
/// file and the environment (SPEC §3).
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "The config file (default: $MILLIMETRIC_RELAY_CONFIG when set).")
    var config: String?

    @Option(help: "The Unix socket producers write to.")
    var socket: String?

    @Option(name: .customLong("state-dir"), help: "The directory of the outbox database.")
    var stateDir: String?

    @Option(help: "The Millimetric API base URL.")
    var host: String?

    @Option(name: .customLong("key-file"), help: "A file holding the server key (sk_…).")
    var keyFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    var flags: [RelayConfiguration.Key: String] {
        var flags: [RelayConfiguration.Key: String] = [:]
        flags[.socketPath] = socket
        flags[.stateDir] = stateDir
        flags[.host] = host
        flags[.logLevel] = logLevel
        return flags
    }

    /// The resolved configuration, or exit 78 with the reason.
    func resolve() throws -> RelayConfiguration {
        do {
            return try RelayConfiguration.resolve(configFile: config, flags: flags)
        } catch {
            printError("millimetric-relay: \(error)")
            throw ExitCode(RelayExitCode.configuration.rawValue)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
