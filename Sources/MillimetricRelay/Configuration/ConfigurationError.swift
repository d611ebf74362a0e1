/// A configuration problem: the daemon refuses to start with it and exits 78, so a unit's
/// `RestartPreventExitStatus=78` stops a restart loop. The message says what to fix.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
