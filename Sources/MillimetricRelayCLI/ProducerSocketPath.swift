import ArgumentParser
import MillimetricRelay

/// The socket a producer command (`send`, `import`) writes to: `--socket` when given, else the
/// configuration's `socket_path` (file, environment, defaults), so that a producer finds the
/// daemon wherever the operator configured it. A configuration error exits 78 with the reason.
func producerSocketPath(socket: String?, configFile: String?) throws -> String {
    if let socket { return socket }
    do {
        return try RelayConfiguration.resolve(configFile: configFile).socketPath
    } catch {
        printError("millimetric-relay: \(error)")
        throw ExitCode(RelayExitCode.configuration.rawValue)
    }
}
