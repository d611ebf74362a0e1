import CBenchSQLite
import Foundation
import RelayTestKit

/// The machine's durable-insert limit: a bare loop that inserts rows into a fresh SQLite
/// database in WAL mode with a prepared statement, `transactionSize` rows per commit, with the
/// relay's `synchronous` setting. Nothing else: no socket, no JSON, no acks.
public enum BareSQLite {
    public enum Schema: String, Sendable, CaseIterable {
        /// One TEXT column, as the peer benchmark's `sqlite_limit.py`.
        case bodyOnly = "body only"
        /// The relay's `events` table with its partial index on `user_id`: what the relay
        /// itself must write per event, at the least.
        case outbox = "outbox schema"
    }

    public struct Result: Sendable {
        public var rows: Int
        public var transactionSize: Int
        public var seconds: Double
        public var rowsPerSecond: Double { Double(rows) / seconds }
    }

    /// Inserts `rows` (all of them) in transactions of `transactionSize`.
    /// - Parameter synchronous: `full` or `normal`.
    public static func run(
        rows: OutboxRows, transactionSize: Int, synchronous: String, schema: Schema, path: String
    ) throws(TestKitError) -> Result {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try BenchDatabase(path: path)
        // The relay's page size for a new outbox (OutboxSchema.pageSize), set before anything is written.
        try database.execute("PRAGMA page_size = 16384")
        try database.execute("PRAGMA journal_mode = WAL")
        guard ["full", "normal"].contains(synchronous.lowercased()) else {
            throw TestKitError("synchronous must be full or normal")
        }
        try database.execute("PRAGMA synchronous = \(synchronous.uppercased())")
        let insertSQL: String
        switch schema {
        case .bodyOnly:
            try database.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            insertSQL = "INSERT INTO events(body) VALUES (?1)"
        case .outbox:
            // As the relay's OutboxStore at schema v2: same table and cache size (v2 dropped the
            // index on user_id).
            try database.execute(
                """
                PRAGMA cache_size = -8192;
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, event_id TEXT NOT NULL,
                    user_id TEXT, body TEXT NOT NULL, bytes INTEGER NOT NULL, received_at INTEGER NOT NULL);
                """)
            insertSQL =
                "INSERT INTO events(kind, event_id, user_id, body, bytes, received_at) VALUES (0, ?2, ?3, ?1, ?4, ?5)"
        }
        let insert = try database.prepare(insertSQL)
        let begin = try database.prepare("BEGIN IMMEDIATE")
        let commit = try database.prepare("COMMIT")
        defer {
            sqlite3_finalize(insert)
            sqlite3_finalize(begin)
            sqlite3_finalize(commit)
        }
        let size = max(1, transactionSize)
        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let start = Monotonic.nanoseconds()
        // The closures return the failure: `withUnsafeBytes` would erase a typed throw.
        let failure: TestKitError? = rows.bodies.bytes.withUnsafeBytes {
            (bodies: UnsafeRawBufferPointer) -> TestKitError? in
            rows.eventIDs.bytes.withUnsafeBytes { (ids: UnsafeRawBufferPointer) -> TestKitError? in
                rows.userIDs.bytes.withUnsafeBytes { (users: UnsafeRawBufferPointer) -> TestKitError? in
                    func bind(_ index: Int32, _ base: UnsafeRawBufferPointer, _ range: Range<Int>?) {
                        if let range {
                            _ = bench_sqlite_bind_text_static(
                                insert, index,
                                base.baseAddress.map { ($0 + range.lowerBound).assumingMemoryBound(to: CChar.self) }
                                    ?? nil,
                                Int32(range.count))
                        } else {
                            sqlite3_bind_null(insert, index)
                        }
                    }
                    var row = 0
                    while row < rows.count {
                        guard sqlite3_step(begin) == SQLITE_DONE else {
                            return TestKitError("BEGIN: \(database.lastError)")
                        }
                        sqlite3_reset(begin)
                        let end = min(rows.count, row + size)
                        while row < end {
                            let body = rows.bodies.range(at: row)
                            bind(1, bodies, body)
                            if schema == .outbox {
                                bind(2, ids, rows.eventIDs.range(at: row))
                                bind(3, users, rows.userIDs.range(at: row))
                                sqlite3_bind_int64(insert, 4, Int64(body?.count ?? 0))
                                sqlite3_bind_int64(insert, 5, receivedAt)
                            }
                            guard sqlite3_step(insert) == SQLITE_DONE else {
                                return TestKitError("INSERT: \(database.lastError)")
                            }
                            sqlite3_reset(insert)
                            row += 1
                        }
                        guard sqlite3_step(commit) == SQLITE_DONE else {
                            return TestKitError("COMMIT: \(database.lastError)")
                        }
                        sqlite3_reset(commit)
                    }
                    return nil
                }
            }
        }
        if let failure { throw failure }
        let seconds = Monotonic.seconds(from: start, to: Monotonic.nanoseconds())
        let stored = try database.scalar("SELECT count(*) FROM events")
        guard stored == rows.count else { throw TestKitError("bare SQLite stored \(stored) of \(rows.count) rows") }
        return Result(rows: rows.count, transactionSize: size, seconds: seconds)
    }

    /// The SQLite library version, for the report.
    public static var libraryVersion: String { BenchDatabase.libraryVersion }
}
