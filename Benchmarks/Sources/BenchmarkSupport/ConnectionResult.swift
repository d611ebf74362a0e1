import RelayTestKit

/// What one client connection saw.
public struct ConnectionResult: Sendable {
    /// Events written completely.
    public var written = 0
    /// `{"ok":true…}` acks.
    public var acked = 0
    /// `{"ok":false…}` acks, and the first of them.
    public var rejected = 0
    public var firstRejection: String?
    /// Monotonic ns just before the first `send`, and when the last ack arrived.
    public var firstWrite: UInt64 = 0
    public var lastAck: UInt64 = 0
    /// Per event: ack arrival minus the time its last byte was accepted by `send`, in ns.
    /// Empty for a ``EventSource/generated(chunks:events:make:)`` source.
    public var latencies: [UInt64] = []
    /// Why the connection broke, if it did.
    public var failure: String?

    public var seconds: Double { Monotonic.seconds(from: firstWrite, to: lastAck) }
}
