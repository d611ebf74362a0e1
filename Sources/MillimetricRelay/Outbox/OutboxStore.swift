import SQLiteSupport

#if canImport(Glibc)
import Glibc
#endif

/// The outbox's write connection and its prepared statements.
///
/// Used by exactly one thread, the ``OutboxWriter``'s; every write of the relay goes through it,
/// so SQLite never sees two writers and the cap accounting stays exact.
final class OutboxStore {
    let connection: SQLiteConnection
    private let insertEvent: SQLiteStatement
    /// The same insert with an explicit `seq`: backfill rows are numbered by the writer.
    private let insertBackfillEvent: SQLiteStatement
    /// Multi-row backfill inserts by row count, prepared on first use
    /// (``insertBackfill(_:rows:firstSeq:receivedAt:)``); 1 is ``insertBackfillEvent``.
    var backfillInsertStatements: [Int: SQLiteStatement] = [:]
    /// The most rows one backfill insert takes: 64; tests set 1 for the single-row path.
    var maximumBackfillRowsPerStatement = 64
    /// Backfill insert statements run since open (tests count them).
    var backfillStatementsRun = 0
    private let deleteUserRows: SQLiteStatement
    private let countUserDeadLetters: SQLiteStatement
    private let deleteUserDeadLetters: SQLiteStatement
    private let deleteRange: SQLiteStatement
    private let copyToDeadLetters: SQLiteStatement
    private let deleteOne: SQLiteStatement
    private let upsertState: SQLiteStatement
    private let incrementState: SQLiteStatement
    private let sizeRange: SQLiteStatement
    private let oldestEvent: SQLiteStatement
    private let dataVersionStatement: SQLiteStatement
    private let pendingCheckpoint: SQLiteStatement

    /// Opens (creating if needed) the outbox at `path`, checks it is ours, migrates it.
    init(path: String, synchronous: SynchronousMode, testHooks: OutboxTestHooks = OutboxTestHooks()) throws(OutboxError) {
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: path, mode: .readWriteCreate, vfs: testHooks.vfs)
        } catch {
            throw error.isCorruptOrForeign ? .corruptOrForeign(path: path, detail: error.message) : .sqlite(error)
        }
        do {
            try connection.setBusyTimeout(milliseconds: 5_000)
            try OutboxSchema.prepare(connection, path: path)
            let mode = try connection.scalarText("PRAGMA journal_mode = WAL")
            guard mode?.lowercased() == "wal" else {
                throw OutboxError.sqlite(SQLiteError(extendedCode: 1, message: "could not switch to WAL mode (got \(mode ?? "nothing"))", operation: "journal_mode"))
            }
            // cache_size: 256 KiB (16 pages of 16 KiB). The writer appends at the end of the
            // table and deletes from its start, so it only revisits the paths to both ends and
            // the small user index. 8 MiB cost 2.6 MB of peak RSS under the peer load, and
            // ingest was no slower without it; 1 MiB -> 256 KiB lowered the peak by 0.8 MB
            // more (25.8 -> 25.0 MB, means of 8 and 5 runs, alternating), ingest within the
            // noise (issue 11: memory on every host).
            try connection.execute(
                """
                PRAGMA synchronous = \(synchronous == .full ? "FULL" : "NORMAL");
                PRAGMA secure_delete = ON;
                PRAGMA foreign_keys = OFF;
                PRAGMA cache_size = -256;
                """)
            if let sql = testHooks.sqlAfterOpen { try connection.execute(sql) }
            // Before the first ack: a new outbox's directory entry, and the unlink of the
            // journal its schema was made with, must survive a power cut.
            StateDirectorySync.sync(directoryOf: path)
            testHooks.directorySynced?(StateDirectorySync.directoryPath(of: path))
            #if MILLIMETRIC_RELAY_TEST_HOOKS
            // Test hook (the disk-full test, where no small filesystem can be mounted): caps the
            // database at this many pages, so that SQLite answers SQLITE_FULL as on a full disk.
            if let pages = TestHooks.maxPageCount {
                _ = try connection.scalarInt64("PRAGMA max_page_count = \(pages)")
            }
            #endif
            insertEvent = try connection.prepare(
                "INSERT INTO events(kind, event_id, user_id, body, bytes, received_at) VALUES (?, ?, ?, ?, ?, ?)")
            insertBackfillEvent = try connection.prepare(
                "INSERT INTO events(kind, event_id, user_id, body, bytes, received_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)")
            deleteUserRows = try connection.prepare("DELETE FROM events WHERE user_id = ? AND kind IN (0, 1) RETURNING bytes")
            countUserDeadLetters = try connection.prepare(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM dead_letters WHERE user_id = ? AND kind IN (0, 1)")
            deleteUserDeadLetters = try connection.prepare("DELETE FROM dead_letters WHERE user_id = ? AND kind IN (0, 1)")
            sizeRange = try connection.prepare("SELECT count(*), coalesce(sum(bytes), 0) FROM events WHERE seq BETWEEN ? AND ?")
            deleteRange = try connection.prepare("DELETE FROM events WHERE seq BETWEEN ? AND ?")
            incrementState = try connection.prepare(
                "INSERT INTO delivery_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value")
            copyToDeadLetters = try connection.prepare(
                """
                INSERT INTO dead_letters(seq, kind, event_id, user_id, body, bytes, received_at, failed_at, http_status, response)
                SELECT seq, kind, event_id, user_id, body, bytes, received_at, ?, ?, ? FROM events WHERE seq = ?
                """)
            deleteOne = try connection.prepare("DELETE FROM events WHERE seq = ? RETURNING bytes")
            upsertState = try connection.prepare(
                "INSERT INTO delivery_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            oldestEvent = try connection.prepare(Self.oldestReceivedAtSQL)
            dataVersionStatement = try connection.prepare("PRAGMA data_version")
            pendingCheckpoint = try connection.prepare("SELECT value FROM delivery_state WHERE key = ?")
        } catch let error as OutboxError {
            try? connection.close()
            throw error
        } catch let error as SQLiteError {
            try? connection.close()
            throw error.isCorruptOrForeign ? .corruptOrForeign(path: path, detail: error.message) : .sqlite(error)
        } catch {
            try? connection.close()
            throw .sqlite(SQLiteError(extendedCode: 1, message: "\(error)", operation: "open"))
        }
        self.connection = connection
        backfillInsertStatements[1] = insertBackfillEvent
    }

    /// Totals read at start: what the cap accounting starts from.
    /// Totals read at start, and again after another process changed the tables: what the cap
    /// accounting starts from. One read transaction, so the numbers belong together.
    func totals() throws(SQLiteError) -> (events: Int64, bytes: Int64, lastSeq: Int64) {
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let events = try connection.scalarInt64("SELECT count(*) FROM events") ?? 0
        let queuedBytes = try connection.scalarInt64("SELECT coalesce(sum(bytes), 0) FROM events") ?? 0
        let deadBytes = try connection.scalarInt64("SELECT coalesce(sum(bytes), 0) FROM dead_letters") ?? 0
        // The live lane's: the drainer's wake-up counts live rows only (OutboxLane).
        let lastSeq = try connection.scalarInt64("SELECT coalesce(max(seq), 0) FROM events WHERE seq > 0") ?? 0
        return (events, queuedBytes + deadBytes, lastSeq)
    }

    func begin() throws(SQLiteError) { try connection.execute("BEGIN IMMEDIATE") }
    func commit() throws(SQLiteError) { try connection.execute("COMMIT") }
    func rollback() {
        if connection.isInTransaction { try? connection.execute("ROLLBACK") }
    }

    /// The last backfill `seq` in use, or just below ``OutboxLane/backfillFloor`` when none is.
    func lastBackfillSeq() throws(SQLiteError) -> Int64 {
        try connection.scalarInt64("SELECT coalesce(max(seq), \(OutboxLane.backfillFloor - 1)) FROM events WHERE seq < 0")
            ?? OutboxLane.backfillFloor - 1
    }

    /// The oldest `received_at` at the head of either lane: each lane is in `seq` order, so
    /// the oldest queued event is the first row of one of them.
    static let oldestReceivedAtSQL = """
        SELECT min(received_at) FROM (
            SELECT (SELECT received_at FROM events WHERE seq < 0 ORDER BY seq LIMIT 1) AS received_at
            UNION ALL SELECT (SELECT received_at FROM events WHERE seq > 0 ORDER BY seq LIMIT 1))
        """

    /// Inserts one validated event; returns its sequence number. With `backfillSeq`, the row
    /// goes to the backfill lane under that number (the writer hands them out in order);
    /// without it, to the live lane under the next AUTOINCREMENT number.
    func insert(_ event: borrowing ValidatedEvent, receivedAt: Int64, backfillSeq: Int64? = nil) throws(SQLiteError) -> Int64 {
        let statement = backfillSeq == nil ? insertEvent : insertBackfillEvent
        defer { statement.clearBindings() }
        if let backfillSeq { try statement.bind(backfillSeq, at: 7) }
        try statement.bind(event.kind.rawValue, at: 1)
        try statement.bind(event.body.count, at: 5)
        try statement.bind(receivedAt, at: 6)
        let result: Result<Void, SQLiteError> = event.withStoredColumns { eventID, userID, body in
            do throws(SQLiteError) {
                // No copies: the bytes stay alive until the step below is done.
                try statement.bindTextNoCopy(eventID, at: 2)
                if let userID {
                    try statement.bindTextNoCopy(userID, at: 3)
                } else {
                    try statement.bindNull(at: 3)
                }
                try statement.bindTextNoCopy(body, at: 4)
                try statement.step()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        return backfillSeq ?? connection.lastInsertRowID
    }

    /// Deletes the user's queued track and identify rows and dead letters (SPEC §7).
    func purge(userID: String) throws(SQLiteError) -> (queued: Int, deadLetters: Int, bytes: Int64) {
        func count(_ statement: SQLiteStatement) throws(SQLiteError) -> (Int, Int64) {
            defer { statement.clearBindings() }
            try statement.bind(userID, at: 1)
            guard try statement.step() else { return (0, 0) }
            return (Int(statement.int64(at: 0)), statement.int64(at: 1))
        }
        func run(_ statement: SQLiteStatement) throws(SQLiteError) {
            defer { statement.clearBindings() }
            try statement.bind(userID, at: 1)
            try statement.step()
        }
        // One pass over the queue: delete and count in the same scan.
        var queued = 0
        var queuedBytes: Int64 = 0
        do {
            defer { deleteUserRows.clearBindings() }
            try deleteUserRows.bind(userID, at: 1)
            while try deleteUserRows.step() {
                queued += 1
                queuedBytes += deleteUserRows.int64(at: 0)
            }
        }
        let (dead, deadBytes) = try count(countUserDeadLetters)
        if dead > 0 { try run(deleteUserDeadLetters) }
        return (queued, dead, queuedBytes + deadBytes)
    }

    /// Deletes the rows with `seq` in `range` (delivered); returns how many and their bytes.
    func delete(_ range: ClosedRange<Int64>) throws(SQLiteError) -> (rows: Int, bytes: Int64) {
        // Count, then delete: `DELETE … RETURNING bytes` hands every row back through a
        // temporary table, which made deleting a delivered batch cost almost as much as
        // inserting it; one aggregate over the same (cached) pages is far cheaper.
        let rows: Int
        let bytes: Int64
        do {
            defer { sizeRange.clearBindings() }
            try sizeRange.bind(range.lowerBound, at: 1)
            try sizeRange.bind(range.upperBound, at: 2)
            guard try sizeRange.step() else { return (0, 0) }
            rows = Int(sizeRange.int64(at: 0))
            bytes = sizeRange.int64(at: 1)
        }
        guard rows > 0 else { return (0, 0) }
        defer { deleteRange.clearBindings() }
        try deleteRange.bind(range.lowerBound, at: 1)
        try deleteRange.bind(range.upperBound, at: 2)
        try deleteRange.step()
        return (rows, bytes)
    }

    /// Moves one row to the dead letters with the API's answer; false when it was gone already
    /// (purged by a forget meanwhile).
    func deadLetter(seq: Int64, status: Int, response: String, at time: Int64) throws(SQLiteError) -> Bool {
        do {
            defer { copyToDeadLetters.clearBindings() }
            try copyToDeadLetters.bind(time, at: 1)
            try copyToDeadLetters.bind(status, at: 2)
            try copyToDeadLetters.bind(response, at: 3)
            try copyToDeadLetters.bind(seq, at: 4)
            try copyToDeadLetters.step()
        }
        guard connection.changes > 0 else { return false }
        defer { deleteOne.clearBindings() }
        try deleteOne.bind(seq, at: 1)
        while try deleteOne.step() {}
        return true
    }

    /// Records one value of the delivery state that `status` shows.
    func setState(_ key: String, _ value: DeliveryStateValue) throws(SQLiteError) {
        defer { upsertState.clearBindings() }
        try upsertState.bind(key, at: 1)
        switch value {
        case .integer(let v): try upsertState.bind(v, at: 2)
        case .text(let v): try upsertState.bind(v, at: 2)
        case .null: try upsertState.bindNull(at: 2)
        }
        try upsertState.step()
    }

    /// Adds `delta` to an integer state value (delivered and dead-lettered totals).
    func increment(_ key: String, by delta: Int64) throws(SQLiteError) {
        guard delta != 0 else { return }
        let statement = incrementState
        defer { statement.clearBindings() }
        try statement.bind(key, at: 1)
        try statement.bind(delta, at: 2)
        try statement.step()
    }

    /// Received time of the oldest queued event, Unix ms.
    func oldestReceivedAt() throws(SQLiteError) -> Int64? {
        defer { oldestEvent.reset() }
        guard try oldestEvent.step(), !oldestEvent.isNull(at: 0) else { return nil }
        return oldestEvent.int64(at: 0)
    }

    /// Moves the WAL's content into the database and truncates the WAL to zero bytes, so that
    /// purged data does not linger in it (SPEC §7). Never waits for a reader: a blocked
    /// checkpoint says so in its result and is retried by the writer.
    func checkpointTruncate() throws(SQLiteError) -> WALCheckpointResult {
        try connection.walCheckpointWithoutWaiting(.truncate)
    }

    /// Changes each time another connection (`dead-letters retry|purge`) commits; the writer's
    /// own commits leave it alone. One step of a prepared statement: cheap enough to ask every
    /// cycle.
    func dataVersion() throws(SQLiteError) -> Int64 {
        defer { dataVersionStatement.reset() }
        guard try dataVersionStatement.step() else { return 0 }
        return dataVersionStatement.int64(at: 0)
    }

    /// Since when a purge's checkpoint has been owed (Unix ms), as recorded for `status` by this
    /// writer or by `dead-letters purge`; nil when none is.
    func purgeCheckpointPendingSince() throws(SQLiteError) -> Int64? {
        defer { pendingCheckpoint.clearBindings() }
        try pendingCheckpoint.bind(OutboxStateKey.purgeCheckpointPendingSince, at: 1)
        guard try pendingCheckpoint.step(), !pendingCheckpoint.isNull(at: 0) else { return nil }
        return pendingCheckpoint.int64(at: 0)
    }

    /// Records (or, with nil, clears) the owed checkpoint in its own small transaction.
    func recordPurgeCheckpointPending(since: Int64?) throws(SQLiteError) {
        try begin()
        do {
            try setState(OutboxStateKey.purgeCheckpointPendingSince, since.map { .integer($0) } ?? .null)
            try commit()
        } catch {
            rollback()
            throw error
        }
    }

}

/// Keys of the `delivery_state` table that more than one file reads or writes.
enum OutboxStateKey {
    /// Set while a purge's WAL checkpoint is blocked (Unix ms since when); `status` shows it.
    static let purgeCheckpointPendingSince = "purge_checkpoint_pending_since"
    /// The `/v1/batch` requests a second the drainer allows itself, times 1,000 (written by the
    /// drainer when it moves, read by `status`).
    static let batchSendRateMillis = "batch_send_rate_millis"
}

/// A value in the `delivery_state` table.
enum DeliveryStateValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case null
}
