/// The process exit codes of SPEC §2: a contract with scripts and systemd units.
public enum RelayExitCode: Int32, Sendable {
    case success = 0
    /// `send`: some lines were refused.
    case someLinesRejected = 1
    case usage = 64
    /// `send`: the daemon or its socket is unavailable.
    case unavailable = 69
    /// `run`: the state directory, its lock file or the outbox database cannot be created or
    /// opened for writing (permissions, a read-only filesystem, something else in the way).
    case cannotCreate = 73
    /// `run`: the outbox cannot be read or written: an I/O error, a full disk, or a lock held by
    /// another program (not a relay: a second relay is stopped by the state directory's lock).
    case ioError = 74
    /// Another daemon already serves this socket or holds this state directory; nothing else.
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
