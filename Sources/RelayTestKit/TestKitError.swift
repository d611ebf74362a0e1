/// Why a test-kit helper failed (a child did not start, the stand-in did not answer): one
/// sentence that a test failure, a benchmark or a chaos run can print as it is.
public struct TestKitError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// The peer closed the connection without answering (the stand-in's `drop_connections`).
    public static let connectionClosed = TestKitError("connection closed without an answer")
    /// No answer within the timeout.
    public static let timedOut = TestKitError("timed out waiting for an answer")
}
