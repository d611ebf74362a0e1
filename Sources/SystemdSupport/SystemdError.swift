import Glibc

/// An error from talking to systemd: a notification that could not be delivered, malformed
/// environment variables set by the service manager, or an inherited file descriptor that is
/// not what the unit promised.
///
/// It is a struct with a small set of stable ``Code``s (rather than a public enum) so that new
/// cases can be added without breaking callers that `switch` over them. `message` says what
/// went wrong and, where it can, what to fix; it never contains anything secret (notification
/// payloads only carry states and status lines).
public struct SystemdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; compare with `==` against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable name, e.g. `notify_failed`; also the description.
        public let description: String

        private init(_ description: String) {
            self.description = description
        }

        /// `sd_notify` failed: `NOTIFY_SOCKET` is set but unusable (missing, refused, too long).
        public static let notifyFailed = Code("notify_failed")
        /// `WATCHDOG_USEC` or `WATCHDOG_PID` could not be parsed.
        public static let invalidWatchdogEnvironment = Code("invalid_watchdog_environment")
        /// `LISTEN_PID`, `LISTEN_FDS` or `LISTEN_FDNAMES` could not be parsed or disagree.
        public static let invalidListenEnvironment = Code("invalid_listen_environment")
        /// An inherited file descriptor is not the kind of socket the caller requires.
        public static let unexpectedSocket = Code("unexpected_socket")
        /// `sd_journal_sendv` failed: journald's socket is missing, refused or full.
        public static let journalSendFailed = Code("journal_send_failed")
    }

    /// The kind of failure.
    public let code: Code
    /// The (positive) `errno` value libsystemd reported, if the failure came with one.
    public let errno: Int32?
    /// A sentence that says what failed, for logs and for the operator.
    public let message: String

    public init(code: Code, errno: Int32? = nil, message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message) (\(SystemdError.errnoDescription(errno)))"
    }

    /// `strerror` text with the symbolic number, e.g. `No such file or directory (errno 2)`.
    static func errnoDescription(_ errno: Int32) -> String {
        "\(String(cString: strerror(errno))) (errno \(errno))"
    }
}
