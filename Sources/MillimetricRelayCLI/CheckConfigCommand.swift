import ArgumentParser
import MillimetricRelay

/// `check-config`: validates configuration and key without starting (exit 0 or 78).
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and the API key without starting the daemon.")

    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        let configuration = try options.resolve()
        do {
            let key = try RelayConfiguration.loadKey(keyFileFlag: options.keyFile, configuration: configuration)
            print("configuration ok: socket \(configuration.socketPath), state \(configuration.stateDirectory), host \(configuration.host), key \(key) from \(key.source)")
        } catch {
            printError("millimetric-relay: \(error.message)")
            throw ExitCode(RelayExitCode.configuration.rawValue)
        }
    }
}
