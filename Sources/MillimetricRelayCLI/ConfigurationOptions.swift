import ArgumentParser
import FoundationEssentials
import Glibc
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
    // One write(2) of the whole line, as FileHandle.standardError.write did.
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
