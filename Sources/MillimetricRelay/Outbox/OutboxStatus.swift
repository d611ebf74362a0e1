import FoundationEssentials
import Glibc
import SQLiteSupport

/// What `status` reports (SPEC §8), read from the database read-only, so it works whether or
/// not the daemon is running and never disturbs it.
public struct OutboxStatus: Sendable, Equatable, Codable {
    public var daemonRunning: Bool
    public var queuedEvents: Int64
    public var queuedBytes: Int64
    public var deadLetters: Int64
    public var deadLetterBytes: Int64
    public var oldestQueuedAt: Date?
    public var deliveredTotal: Int64
    public var deadLetteredTotal: Int64
    public var lastSuccessAt: Date?
    /// `ok`, `backing_off`, `paused` or `unknown` (never delivered yet).
    public var upstreamState: String
    /// For `backing_off`: until when.
    public var upstreamUntil: Date?
    /// For `paused`: why.
    public var upstreamReason: String?
    public var lastError: String?
    public var lastErrorAt: Date?
    /// Forget requests the API refused for good (kept in the dead letters).
    public var refusedForgets: Int64
    /// Set while a purge's WAL checkpoint is blocked by a reader: the purged data is still in
    /// the WAL (SPEC §7) and the daemon retries every second. Since when.
    public var purgePendingCheckpointSince: Date?
    /// Rows queued in the backfill lane (`millimetric-relay import`, ``OutboxLane``).
    public var backfillEvents: Int64 = 0
    /// Events delivered per second over the daemon's last measuring window, if it measured one
    /// in the last minute while running.
    public var deliveryRate: Int64?
    /// Seconds until the backfill lane is empty at ``deliveryRate``: live rows go first, so the
    /// backfill drains with the whole queue.
    public var backfillDrainSeconds: Int64?
    /// Lines read on the socket and those refused, since the outbox was created (``IngestTally``).
    public var linesReceived: Int64 = 0
    public var linesRefused: Int64 = 0
    /// HTTP listener requests by path and the status they were answered, since the outbox was
    /// created; sorted by path, then status.
    public var httpRequests: [HTTPRequestCount] = []

    /// One `path`/`status` count of HTTP requests.
    public struct HTTPRequestCount: Sendable, Equatable, Codable {
        public var path: String
        public var status: Int
        public var count: Int64
    }
    /// `/v1/batch` requests a second the drainer last allowed itself: `batch_rate` for a relay
    /// alone on its key, less while other relays share it (issue #12).
    public var batchSendRate: Double?
    /// How long the queued events take to leave at that rate, in full batches of 500 (an
    /// estimate: at least as long if producers keep writing).
    public var drainsInSeconds: Int64?

    /// Reads the status of the outbox in `stateDirectory`.
    public static func read(databasePath: String, lockPath: String) throws(OutboxError) -> OutboxStatus {
        let connection = try OutboxConnection.open(path: databasePath, mode: .readOnly, busyTimeoutMilliseconds: 2_000)
        defer { try? connection.close() }
        return try OutboxConnection.mapping(path: databasePath) { () throws(SQLiteError) -> OutboxStatus in
            var status = OutboxStatus(
                daemonRunning: StateDirectoryLock.isHeld(path: lockPath), queuedEvents: 0, queuedBytes: 0, deadLetters: 0,
                deadLetterBytes: 0, deliveredTotal: 0, deadLetteredTotal: 0, upstreamState: "unknown", refusedForgets: 0)
            try connection.execute("BEGIN")
            let queued = try connection.prepare("SELECT count(*), coalesce(sum(bytes), 0) FROM events")
            if try queued.step() {
                status.queuedEvents = queued.int64(at: 0)
                status.queuedBytes = queued.int64(at: 1)
            }
            let dead = try connection.prepare("SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(kind = 2), 0) FROM dead_letters")
            if try dead.step() {
                status.deadLetters = dead.int64(at: 0)
                status.deadLetterBytes = dead.int64(at: 1)
                status.refusedForgets = dead.int64(at: 2)
            }
            status.oldestQueuedAt = try connection.scalarInt64(OutboxStore.oldestReceivedAtSQL).map(Self.date)
            status.backfillEvents = try connection.scalarInt64("SELECT count(*) FROM events WHERE seq < 0") ?? 0
            var rate: Int64?
            var rateAt: Int64?
            let state = try connection.prepare("SELECT key, value FROM delivery_state")
            while try state.step() {
                let key = state.text(at: 0) ?? ""
                switch key {
                case "delivered_total": status.deliveredTotal = state.int64(at: 1)
                case "dead_lettered_total": status.deadLetteredTotal = state.int64(at: 1)
                case "last_success_at": status.lastSuccessAt = state.isNull(at: 1) ? nil : Self.date(state.int64(at: 1))
                case "upstream_state": status.upstreamState = state.text(at: 1) ?? "unknown"
                case "upstream_until": status.upstreamUntil = state.isNull(at: 1) ? nil : Self.date(state.int64(at: 1))
                case "upstream_reason": status.upstreamReason = state.text(at: 1)
                case "last_error": status.lastError = state.text(at: 1)
                case "last_error_at": status.lastErrorAt = state.isNull(at: 1) ? nil : Self.date(state.int64(at: 1))
                case DeliveryRateMeter.rateKey: rate = state.isNull(at: 1) ? nil : state.int64(at: 1)
                case DeliveryRateMeter.measuredAtKey: rateAt = state.isNull(at: 1) ? nil : state.int64(at: 1)
                case OutboxStateKey.batchSendRateMillis:
                    status.batchSendRate = state.isNull(at: 1) ? nil : Double(state.int64(at: 1)) / 1000
                case OutboxStateKey.purgeCheckpointPendingSince:
                    status.purgePendingCheckpointSince = state.isNull(at: 1) ? nil : Self.date(state.int64(at: 1))
                case IngestTally.linesReceivedKey: status.linesReceived = state.int64(at: 1)
                case IngestTally.linesRefusedKey: status.linesRefused = state.int64(at: 1)
                default:
                    if let (path, code) = IngestTally.httpRequest(fromKey: key) {
                        status.httpRequests.append(HTTPRequestCount(path: path, status: code, count: state.int64(at: 1)))
                    }
                }
            }
            status.httpRequests.sort { ($0.path, $0.status) < ($1.path, $1.status) }
            try connection.execute("COMMIT")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            if status.daemonRunning, let rate, let rateAt, now - rateAt < 60_000 {
                status.deliveryRate = rate
                if status.backfillEvents > 0 && rate > 0 { status.backfillDrainSeconds = (status.queuedEvents + rate - 1) / rate }
            }
            status.drainsInSeconds = status.batchSendRate.flatMap { Self.drainSeconds(queuedEvents: status.queuedEvents, sendRate: $0) }
            return status
        }
    }

    /// Seconds to send `queuedEvents` in batches of 500 at `sendRate` batch requests a second.
    static func drainSeconds(queuedEvents: Int64, sendRate: Double) -> Int64? {
        guard sendRate > 0 else { return nil }
        let batches = (Double(queuedEvents) / 500).rounded(.up)
        return Int64((batches / sendRate).rounded(.up))
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
}
