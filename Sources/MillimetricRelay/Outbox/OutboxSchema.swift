import SQLiteSupport

/// The outbox's on-disk format: a versioned schema and its migrations.
///
/// The file is marked with SQLite's `application_id`, so that the relay recognises its own
/// database and refuses a foreign one (or a damaged one) instead of writing into it. Each
/// migration runs in a transaction and bumps `user_version`; a file written by a newer relay is
/// refused rather than guessed at.
enum OutboxSchema {
    /// 'MMR1' — "this SQLite file is a millimetric-relay outbox".
    static let applicationID: Int64 = 0x4D4D_5231

    /// Migrations in order; `migrations[n]` takes the schema from version n to n + 1.
    static let migrations: [String] = [
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, -- acknowledgement order; never reused
            kind INTEGER NOT NULL,                 -- EventKind raw value
            event_id TEXT NOT NULL,
            user_id TEXT,                          -- forget purges by it
            body TEXT NOT NULL,                    -- the exact JSON sent upstream
            bytes INTEGER NOT NULL,                -- length(body) in bytes, for the outbox cap
            received_at INTEGER NOT NULL           -- Unix ms
        );
        CREATE INDEX events_by_user ON events(user_id) WHERE user_id IS NOT NULL;
        CREATE TABLE dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            seq INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            user_id TEXT,
            body TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            failed_at INTEGER NOT NULL,
            http_status INTEGER NOT NULL,
            response TEXT NOT NULL                 -- the API's answer, as received
        );
        CREATE INDEX dead_letters_by_user ON dead_letters(user_id) WHERE user_id IS NOT NULL;
        CREATE TABLE delivery_state (
            key TEXT PRIMARY KEY,
            value
        ) WITHOUT ROWID;
        """,
        // v2: no index on events.user_id. Producers' user ids are random keys, and keeping that
        // index cost 40% of the insert rate on the ingest hot path. A forget now scans the
        // queue once (about 0.25 s for a backlog of a million events), which is rare next to
        // every insert paying for the index.
        """
        DROP INDEX events_by_user;
        """,
        // v3: backfill rows (`millimetric-relay import`) are stored with negative `seq`s, in a
        // lane of their own (OutboxLane). The tables do not change, but a relay of schema v2
        // reads only `seq > 0` and would leave those rows queued for ever: the version bump
        // makes it refuse this file instead. The state row records since when lanes exist.
        """
        INSERT OR IGNORE INTO delivery_state(key, value) VALUES ('lanes_since', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
        """,
    ]

    static var currentVersion: Int64 { Int64(migrations.count) }

    /// The page size of a new outbox: 16 KiB rather than SQLite's 4 KiB. Each commit writes its
    /// pages to the WAL one system call each, and the queue is a stream of ~0.5 KB rows that are
    /// appended, then deleted in runs; four times fewer pages per event took the writer's CPU
    /// down by a fifth under the peer load (12 % more events/s). Larger pages added little more
    /// and would make each small commit of a quiet host write more bytes.
    static let pageSize = 16_384

    /// Checks that `connection` is an outbox (or a new, empty file) and migrates it to the
    /// current version.
    static func prepare(_ connection: SQLiteConnection, path: String) throws(OutboxError) {
        let applicationID: Int64
        let version: Int64
        let objectCount: Int64
        do {
            // The first read of the file: a damaged or non-SQLite file fails here.
            applicationID = try connection.scalarInt64("PRAGMA application_id") ?? 0
            version = try connection.scalarInt64("PRAGMA user_version") ?? 0
            objectCount = try connection.scalarInt64("SELECT count(*) FROM sqlite_schema") ?? 0
        } catch {
            if error.isCorruptOrForeign {
                throw .corruptOrForeign(path: path, detail: error.message)
            }
            throw .sqlite(error)
        }
        if applicationID == 0 && objectCount > 0 {
            throw .corruptOrForeign(path: path, detail: "it is an SQLite database of another program (no millimetric-relay application_id)")
        }
        if applicationID != 0 && applicationID != Self.applicationID {
            throw .corruptOrForeign(path: path, detail: "its application_id is \(applicationID), not millimetric-relay's")
        }
        if version > currentVersion {
            throw .newerSchema(path: path, found: version, supported: currentVersion)
        }
        guard version < currentVersion else { return }
        do {
            if objectCount == 0 {
                // Only a new file takes a page size; an existing one keeps its own.
                try connection.execute("PRAGMA page_size = \(Self.pageSize)")
            }
            try connection.execute("BEGIN IMMEDIATE")
            for step in Int(version)..<migrations.count {
                try connection.execute(migrations[step])
            }
            try connection.execute("PRAGMA application_id = \(Self.applicationID)")
            try connection.execute("PRAGMA user_version = \(currentVersion)")
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw .sqlite(error)
        }
    }
}
