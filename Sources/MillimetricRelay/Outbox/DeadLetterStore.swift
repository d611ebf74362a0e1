import FoundationEssentials
import Glibc
import SQLiteSupport

/// The `dead-letters` command's view of the outbox: events the API refused for good.
///
/// It opens its own short-lived connection, so it works whether or not the daemon runs; SQLite's
/// locking (with a busy timeout) serialises its brief writes with the daemon's. A retried
/// letter goes back into the queue with a new sequence number, behind everything queued, and the
/// drainer picks it up within a second.
public struct DeadLetterStore {
    public struct Letter: Sendable, Codable, Equatable {
        public var id: Int64
        public var kind: String
        public var eventID: String
        public var userID: String?
        public var failedAt: Date
        public var httpStatus: Int
        public var response: String
        public var body: String
    }

    let databasePath: String

    public init(databasePath: String) {
        self.databasePath = databasePath
    }

    private func open(readOnly: Bool) throws(OutboxError) -> SQLiteConnection {
        try OutboxConnection.open(path: databasePath, mode: readOnly ? .readOnly : .readWrite, busyTimeoutMilliseconds: 10_000)
    }

    /// Every dead letter, oldest first.
    public func list() throws(OutboxError) -> [Letter] {
        let connection = try open(readOnly: true)
        defer { try? connection.close() }
        do {
            let statement = try connection.prepare(
                "SELECT id, kind, event_id, user_id, failed_at, http_status, response, body FROM dead_letters ORDER BY id")
            var letters: [Letter] = []
            while try statement.step() {
                letters.append(Letter(
                    id: statement.int64(at: 0), kind: EventKind(rawValue: Int(statement.int64(at: 1)))?.description ?? "?",
                    eventID: statement.text(at: 2) ?? "", userID: statement.text(at: 3),
                    failedAt: Date(timeIntervalSince1970: Double(statement.int64(at: 4)) / 1000), httpStatus: Int(statement.int64(at: 5)),
                    response: statement.text(at: 6) ?? "", body: statement.text(at: 7) ?? ""))
            }
            return letters
        } catch {
            throw .sqlite(error)
        }
    }

    /// How many letters are held (for the metrics endpoint, at each scrape: a short read-only
    /// transaction that never waits long for a lock).
    public func count() throws(OutboxError) -> Int64 {
        let connection = try OutboxConnection.open(path: databasePath, mode: .readOnly, busyTimeoutMilliseconds: 1_000)
        defer { try? connection.close() }
        do {
            return try connection.scalarInt64("SELECT count(*) FROM dead_letters") ?? 0
        } catch {
            throw .sqlite(error)
        }
    }

    /// Puts letters back into the queue (all when `ids` is nil); returns how many.
    public func retry(ids: [Int64]?) throws(OutboxError) -> Int {
        try change(ids: ids, sql: """
            INSERT INTO events(kind, event_id, user_id, body, bytes, received_at)
            SELECT kind, event_id, user_id, body, bytes, received_at FROM dead_letters WHERE %@ ORDER BY id;
            DELETE FROM dead_letters WHERE %@;
            """)
    }

    /// Deletes letters for good (all when `ids` is nil); returns how many.
    ///
    /// Deleted data must not linger in the WAL (SPEC §7), but a truncating checkpoint that
    /// waits for readers would hold the write lock and stall the daemon's acks meanwhile. So the
    /// purge records, in its own transaction, that a checkpoint is owed; tries one without
    /// waiting; and, when a reader blocks it, leaves the mark for the daemon, which notices the
    /// change within a second and retries until it completes (and `status` shows it meanwhile).
    public func purge(ids: [Int64]?) throws(OutboxError) -> Int {
        let owed = """
            INSERT INTO delivery_state(key, value) VALUES ('\(OutboxStateKey.purgeCheckpointPendingSince)', \(Int64(Date().timeIntervalSince1970 * 1000)))
            ON CONFLICT(key) DO UPDATE SET value = coalesce(value, excluded.value);
            """
        return try change(ids: ids, sql: "DELETE FROM dead_letters WHERE %@;\n" + owed, erases: true)
    }

    private func change(ids: [Int64]?, sql: String, erases: Bool = false) throws(OutboxError) -> Int {
        let connection = try open(readOnly: false)
        defer { try? connection.close() }
        let condition = ids.map { "id IN (\($0.map(String.init).joined(separator: ",")))" } ?? "1"
        let count: Int64
        do {
            try connection.execute("BEGIN IMMEDIATE")
            count = try connection.scalarInt64("SELECT count(*) FROM dead_letters WHERE \(condition)") ?? 0
            try connection.execute(sql.replacing("%@", with: condition))
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw .sqlite(error)
        }
        // Best effort from here: the change is committed either way.
        let checkpoint = try? connection.walCheckpointWithoutWaiting(.truncate)
        if erases && checkpoint?.completed == true {
            try? connection.execute("UPDATE delivery_state SET value = NULL WHERE key = '\(OutboxStateKey.purgeCheckpointPendingSince)'")
        }
        return Int(count)
    }
}
