/// The process exit codes of SPEC §2: a contract with scripts and systemd units.
public enum RelayExitCode: Int32, Sendable {
    case success = 0
    /// `send`: some lines were refused.
    case someLinesRejected = 1
    case usage = 64
    /// `send`: the daemon or its socket is unavailable.
    case unavailable = 69
    /// Another daemon already serves this socket or holds this state directory.
    case alreadyRunning = 75
    /// Bad key, unreadable config, corrupt or foreign database (`RestartPreventExitStatus=78`).
    case configuration = 78
}

/// An error that ends the process with a given exit code and a message for stderr.
public struct RelayExit: Error, Sendable, CustomStringConvertible {
    public let code: RelayExitCode
    public let message: String

    public init(_ code: RelayExitCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
