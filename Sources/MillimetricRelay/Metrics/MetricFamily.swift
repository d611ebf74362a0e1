/// One metric family as Prometheus shows it: its name, its type and its `# HELP` text.
///
/// The relay's metrics are created through swift-metrics, which knows labels and values but no
/// help text; ``DocumentedMetricsFactory`` looks each family up here by name when the Prometheus
/// registry creates it, so every family the endpoint serves carries its `# HELP` line and
/// `promtool check metrics` accepts the scrape. ``catalog`` is the one list of what the endpoint
/// serves: a metric created without an entry here has no help text, which the tests catch.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public let name: String
    public let kind: Kind
    public let help: String

    public init(_ name: String, _ kind: Kind, _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
    }
}

extension MetricFamily {
    // MARK: Ingest

    static let linesReceived = MetricFamily(
        "millimetric_relay_lines_received_total", .counter,
        "Lines read from producers on the socket; every line gets exactly one ack.")
    static let eventsAcked = MetricFamily(
        "millimetric_relay_events_acked_total", .counter,
        "Events committed to the outbox and acked ok to their producer.")
    static let linesRefused = MetricFamily(
        "millimetric_relay_lines_refused_total", .counter,
        "Lines answered with an error ack, by error code (reason); nothing of them was stored.")
    static let ingestConnections = MetricFamily(
        "millimetric_relay_ingest_connections", .gauge,
        "Producer connections open on the ingest socket now.")
    static let ingestConnectionsAccepted = MetricFamily(
        "millimetric_relay_ingest_connections_accepted_total", .counter,
        "Producer connections admitted since start (not those refused over max_connections).")
    static let forgets = MetricFamily(
        "millimetric_relay_forgets_total", .counter,
        "Forget requests committed; each purges the user's queued events and dead letters before it is sent.")
    static let forgetPurgedEvents = MetricFamily(
        "millimetric_relay_forget_purged_events_total", .counter,
        "Queued events removed from the outbox by forget requests before they were delivered.")
    static let httpRequests = MetricFamily(
        "millimetric_relay_http_requests_total", .counter,
        "Requests to the relay's own HTTP listener (http_listen) by path (other for unknown paths) and the status answered.")

    // MARK: Outbox

    static let queueEvents = MetricFamily(
        "millimetric_relay_queue_events", .gauge,
        "Events queued in the outbox, waiting for delivery.")
    static let oldestEventAge = MetricFamily(
        "millimetric_relay_oldest_event_age_seconds", .gauge,
        "Age of the oldest queued event, 0 when nothing is queued: how far delivery lags behind.")
    static let outboxBytes = MetricFamily(
        "millimetric_relay_outbox_bytes", .gauge,
        "Bytes of event JSON stored in the outbox, queued and dead-lettered: what max_outbox_bytes caps.")
    static let outboxMaximumBytes = MetricFamily(
        "millimetric_relay_outbox_max_bytes", .gauge,
        "The cap on stored event JSON (max_outbox_bytes); at the cap new events are refused with outbox_full.")
    static let deadLetters = MetricFamily(
        "millimetric_relay_dead_letters", .gauge,
        "Dead letters held now: events the API refused for good, kept until `millimetric-relay dead-letters` retries or purges them.")
    static let walCheckpointsBlocked = MetricFamily(
        "millimetric_relay_wal_checkpoints_blocked_total", .counter,
        "WAL checkpoints that could not complete because a reader held the WAL; the WAL file keeps growing until one does.")

    // MARK: Delivery

    static let eventsDelivered = MetricFamily(
        "millimetric_relay_events_delivered_total", .counter,
        "Events the Millimetric API accepted (2xx); they have left the outbox.")
    static let eventsDeadLettered = MetricFamily(
        "millimetric_relay_events_dead_lettered_total", .counter,
        "Events the API refused for good (400/413/422 on a single event), moved to the dead letters.")
    static let upstreamRequests = MetricFamily(
        "millimetric_relay_upstream_requests_total", .counter,
        "Requests to the Millimetric API by endpoint (path) and HTTP status; status 0 means no answer (timeout, connection, TLS).")
    static let upstreamRequestDuration = MetricFamily(
        "millimetric_relay_upstream_request_duration_seconds", .histogram,
        "Time from sending a request to the Millimetric API to its complete answer.")
    static let upstreamState = MetricFamily(
        "millimetric_relay_upstream_state", .gauge,
        "1 for the current delivery state (idle, ok, backing_off, paused) and its reason, 0 for the others; the label sets are fixed.")
    static let batchSendRate = MetricFamily(
        "millimetric_relay_batch_send_rate", .gauge,
        "/v1/batch requests a second the relay currently allows itself: batch_rate alone on its key, less when 429s show other relays share it.")

    // MARK: Build and process

    // The standard process_* families, one entry each as every other family (`duplicates` sees
    // a pair in the run of alike entries: it is a table).

    static let buildInfo = MetricFamily(
        "millimetric_relay_build_info", .gauge,
        "Always 1; the version label says which millimetric-relay is running.")
    static let processResidentMemory = MetricFamily(
        "process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
    static let processVirtualMemory = MetricFamily(
        "process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.")
    static let processCPU = MetricFamily(
        "process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
    static let processOpenFDs = MetricFamily(
        "process_open_fds", .gauge, "Number of open file descriptors.")
    static let processMaximumFDs = MetricFamily(
        "process_max_fds", .gauge, "Maximum number of open file descriptors (the soft RLIMIT_NOFILE).")
    static let processStartTime = MetricFamily(
        "process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.")

    /// Every family the metrics endpoint serves.
    public static let catalog: [MetricFamily] = [
        linesReceived, eventsAcked, linesRefused, ingestConnections, ingestConnectionsAccepted, forgets, forgetPurgedEvents, httpRequests,
        queueEvents, oldestEventAge, outboxBytes, outboxMaximumBytes, deadLetters, walCheckpointsBlocked,
        eventsDelivered, eventsDeadLettered, upstreamRequests, upstreamRequestDuration, upstreamState, batchSendRate,
        buildInfo, processResidentMemory, processVirtualMemory, processCPU, processOpenFDs, processMaximumFDs, processStartTime,
    ]
}
