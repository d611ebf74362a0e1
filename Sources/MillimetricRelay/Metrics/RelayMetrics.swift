import Metrics

/// The relay's metrics, created once and shared: every counter an operator graphs.
///
/// They go through swift-metrics, so the Prometheus listener (when configured) and tests read
/// the same numbers; without a bootstrapped backend they cost almost nothing.
public final class RelayMetrics: Sendable {
    /// Lines read from producers (every line that gets an ack).
    public let linesReceived: Counter
    /// Lines committed and acked `ok`.
    public let eventsAcked: Counter
    private let refusedByReason: [IngestErrorCode: Counter]
    /// Events the API accepted.
    public let eventsDelivered: Counter
    /// Events moved to the dead letters.
    public let eventsDeadLettered: Counter
    /// Queued events and their age.
    public let queueDepth: Gauge
    public let queueBytes: Gauge
    public let oldestEventAgeSeconds: Gauge
    /// WAL checkpoints after a purge that a reader (or another writer) blocked; each is retried
    /// every second until it completes, and each blocked attempt counts.
    public let walCheckpointsBlocked: Counter
    /// Upstream request latency.
    public let requestDuration: Metrics.Timer
    /// Upstream requests by status; created on first use of each status.
    private let requestsByStatusLabel = "millimetric_relay_upstream_requests_total"

    public init() {
        linesReceived = Counter(label: "millimetric_relay_lines_received_total")
        eventsAcked = Counter(label: "millimetric_relay_events_acked_total")
        refusedByReason = Dictionary(uniqueKeysWithValues: IngestErrorCode.allCases.map {
            ($0, Counter(label: "millimetric_relay_lines_refused_total", dimensions: [("reason", $0.rawValue)]))
        })
        eventsDelivered = Counter(label: "millimetric_relay_events_delivered_total")
        eventsDeadLettered = Counter(label: "millimetric_relay_events_dead_lettered_total")
        queueDepth = Gauge(label: "millimetric_relay_queue_events")
        queueBytes = Gauge(label: "millimetric_relay_queue_bytes")
        oldestEventAgeSeconds = Gauge(label: "millimetric_relay_oldest_event_age_seconds")
        walCheckpointsBlocked = Counter(label: "millimetric_relay_wal_checkpoints_blocked_total")
        requestDuration = Metrics.Timer(label: "millimetric_relay_upstream_request_duration_seconds", preferredDisplayUnit: .seconds)
    }

    /// Counts one refused line by its error code.
    public func linesRefused(_ code: IngestErrorCode) {
        refusedByReason[code]?.increment()
    }

    /// Counts one upstream request by endpoint and status (`0` for a transport failure).
    public func upstreamRequest(path: String, status: Int) {
        Counter(label: requestsByStatusLabel, dimensions: [("path", path), ("status", String(status))]).increment()
    }
}
