import RelayTestKit

/// What several connections together achieved: events/s from the first write of any connection
/// to the last ack of any, and the ack latency of every event.
public struct LoadSummary: Sendable {
    public var connections: Int
    public var written: Int
    public var acked: Int
    public var rejected: Int
    public var firstRejection: String?
    public var seconds: Double
    public var latency: LatencySummary?
    public var failures: [String]

    public var eventsPerSecond: Double { seconds > 0 ? Double(acked) / seconds : 0 }

    public init(_ results: [ConnectionResult]) {
        connections = results.count
        written = results.reduce(0) { $0 + $1.written }
        acked = results.reduce(0) { $0 + $1.acked }
        rejected = results.reduce(0) { $0 + $1.rejected }
        firstRejection = results.lazy.compactMap(\.firstRejection).first
        let start = results.map(\.firstWrite).min() ?? 0
        let end = results.map(\.lastAck).max() ?? 0
        seconds = Monotonic.seconds(from: start, to: end)
        latency = LatencySummary(nanoseconds: results.flatMap(\.latencies))
        failures = results.compactMap(\.failure)
    }

    /// Throws unless every event was written and acked with `ok`.
    public func requireAllAcked(expected: Int) throws(TestKitError) {
        if let failure = failures.first { throw TestKitError("a connection failed: \(failure)") }
        if rejected > 0 { throw TestKitError("\(rejected) events were refused; the first: \(firstRejection ?? "?")") }
        if acked != expected { throw TestKitError("\(acked) of \(expected) events acked") }
    }
}
