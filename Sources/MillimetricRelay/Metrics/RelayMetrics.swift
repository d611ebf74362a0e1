import Metrics

/// The relay's metrics, created once and shared: every counter an operator graphs.
///
/// They go through swift-metrics, so the Prometheus listener (when configured) and tests read
/// the same numbers; without a bootstrapped backend they cost almost nothing. Names and help
/// texts are in ``MetricFamily``.
public final class RelayMetrics: Sendable {
    /// Lines read from producers (every line that gets an ack).
    public let linesReceived: Counter
    /// Lines committed and acked `ok`.
    public let eventsAcked: Counter
    private let refusedByReason: [IngestErrorCode: Counter]
    /// Forget requests committed, and the queued events they purged.
    public let forgets: Counter
    public let forgetPurgedEvents: Counter
    /// Events the API accepted that left the outbox with that answer (the `delivered_total` of
    /// `status`); rows a forget purged while their request was in flight are not counted.
    public let eventsDelivered: Counter
    /// Events moved to the dead letters.
    public let eventsDeadLettered: Counter
    /// Producer connections open now, and admitted since start (not those refused over
    /// `max_connections`).
    public let ingestConnections: Gauge
    public let ingestConnectionsAccepted: Counter
    /// Queued events and their age.
    public let queueDepth: Gauge
    public let oldestEventAgeSeconds: Gauge
    /// Stored event JSON (queued and dead-lettered) against its cap, `max_outbox_bytes`.
    public let outboxBytes: Gauge
    public let outboxMaximumBytes: Gauge
    /// Dead letters held now.
    public let deadLetters: Gauge
    /// WAL checkpoints after a purge that a reader (or another writer) blocked; each is retried
    /// every second until it completes, and each blocked attempt counts.
    public let walCheckpointsBlocked: Counter
    /// `/v1/batch` requests a second the drainer currently allows itself (issue #12).
    public let batchSendRate: Gauge
    /// Upstream request latency.
    public let requestDuration: Metrics.Timer
    /// One series per upstream condition, 1 for the current one.
    private let upstreamStates: [UpstreamCondition: Gauge]
    private let factory: any MetricsFactory
    /// The same ingest counts, for `status` (written to the database by the outbox writer).
    public let tally = IngestTally()

    public convenience init() {
        self.init(factory: MetricsSystem.factory)
    }

    /// Creates the metrics with `factory` (tests pass their own; the daemon uses the
    /// bootstrapped one).
    init(factory: any MetricsFactory) {
        self.factory = factory
        linesReceived = Counter(label: MetricFamily.linesReceived.name, factory: factory)
        eventsAcked = Counter(label: MetricFamily.eventsAcked.name, factory: factory)
        refusedByReason = Dictionary(uniqueKeysWithValues: IngestErrorCode.allCases.map {
            ($0, Counter(label: MetricFamily.linesRefused.name, dimensions: [("reason", $0.rawValue)], factory: factory))
        })
        forgets = Counter(label: MetricFamily.forgets.name, factory: factory)
        forgetPurgedEvents = Counter(label: MetricFamily.forgetPurgedEvents.name, factory: factory)
        eventsDelivered = Counter(label: MetricFamily.eventsDelivered.name, factory: factory)
        eventsDeadLettered = Counter(label: MetricFamily.eventsDeadLettered.name, factory: factory)
        ingestConnections = Gauge(label: MetricFamily.ingestConnections.name, factory: factory)
        ingestConnectionsAccepted = Counter(label: MetricFamily.ingestConnectionsAccepted.name, factory: factory)
        queueDepth = Gauge(label: MetricFamily.queueEvents.name, factory: factory)
        oldestEventAgeSeconds = Gauge(label: MetricFamily.oldestEventAge.name, factory: factory)
        outboxBytes = Gauge(label: MetricFamily.outboxBytes.name, factory: factory)
        outboxMaximumBytes = Gauge(label: MetricFamily.outboxMaximumBytes.name, factory: factory)
        deadLetters = Gauge(label: MetricFamily.deadLetters.name, factory: factory)
        walCheckpointsBlocked = Counter(label: MetricFamily.walCheckpointsBlocked.name, factory: factory)
        batchSendRate = Gauge(label: MetricFamily.batchSendRate.name, factory: factory)
        requestDuration = Metrics.Timer(label: MetricFamily.upstreamRequestDuration.name, preferredDisplayUnit: .seconds, factory: factory)
        upstreamStates = Dictionary(uniqueKeysWithValues: UpstreamCondition.allCases.map {
            ($0, Gauge(label: MetricFamily.upstreamState.name, dimensions: [("state", $0.state), ("reason", $0.reason)], factory: factory))
        })
        upstreamState(.idle)
    }

    /// Counts one refused line by its error code.
    public func linesRefused(_ code: IngestErrorCode) {
        refusedByReason[code]?.increment()
        tally.add(IngestTally.linesRefusedKey)
    }

    /// Counts lines read from producers (every line that gets an ack).
    public func received(lines count: Int) {
        linesReceived.increment(by: count)
        tally.add(IngestTally.linesReceivedKey, Int64(count))
    }

    /// Counts what a committed event did: a forget and the queued events it purged.
    public func committed(_ outcome: OutboxWriter.Outcome) {
        if case .stored(_, let purged?) = outcome {
            forgets.increment()
            forgetPurgedEvents.increment(by: purged)
        }
    }

    /// Counts one request to the HTTP listener by path label and the status it was answered.
    public func httpRequest(path: String, status: Int) {
        Counter(label: MetricFamily.httpRequests.name, dimensions: [("path", path), ("status", String(status))], factory: factory).increment()
        tally.add(IngestTally.httpRequestsKey(path: path, status: status))
    }

    /// Counts one upstream request by endpoint and status (`0` for a transport failure).
    public func upstreamRequest(path: String, status: Int) {
        Counter(label: MetricFamily.upstreamRequests.name, dimensions: [("path", path), ("status", String(status))], factory: factory).increment()
    }

    /// Sets the upstream state series: 1 for `state`'s condition, 0 for every other.
    func upstreamState(_ state: UpstreamState) {
        let current = UpstreamCondition(state)
        upstreamStates[current]?.record(1)
        for (condition, gauge) in upstreamStates where condition != current {
            gauge.record(0)
        }
    }
}
