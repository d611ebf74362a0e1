import CPowerCutSQLite

/// One row of the `events` table of an image. It has the fields of the relay's `QueuedRow` on
/// purpose: the checker reads the image apart from the relay's code (see `ImageReader`), so it
/// keeps its own row type instead of sharing the one it checks.
struct ImageRow: Sendable {
    var seq: Int64
    var kind: Int
    var eventID: String
    var userID: String?
    var body: [UInt8]
}

/// Reads an image's outbox with the system SQLite directly, apart from the relay's code: the
/// checker must not share the code it checks.
struct ImageReader: ~Copyable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let db: OpaquePointer

    init(path: String) throws(Failure) {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "open failed (\(rc))"
            if let handle { sqlite3_close_v2(handle) }
            throw Failure(description: message)
        }
        db = handle
    }

    deinit { sqlite3_close_v2(db) }

    /// `PRAGMA integrity_check`'s answer, all lines joined ("ok" when sound).
    func integrityCheck() throws(Failure) -> String {
        var lines: [String] = []
        try query("PRAGMA integrity_check") { statement in
            lines.append(Self.text(statement, 0) ?? "<NULL>")
        }
        return lines.joined(separator: "; ")
    }

    func events() throws(Failure) -> [ImageRow] {
        var rows: [ImageRow] = []
        try query("SELECT seq, kind, event_id, user_id, body FROM events ORDER BY seq") { statement in
            let count = Int(sqlite3_column_bytes(statement, 4))
            let body = sqlite3_column_blob(statement, 4).map { [UInt8](UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
            rows.append(ImageRow(
                seq: sqlite3_column_int64(statement, 0),
                kind: Int(sqlite3_column_int64(statement, 1)),
                // A damaged image can hold NULL where the schema forbids it: such a row has no
                // submitted event to match and counts as corrupt.
                eventID: Self.text(statement, 2) ?? "<NULL>",
                userID: Self.text(statement, 3),
                body: body))
        }
        return rows
    }

    private static func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
        sqlite3_column_text(statement, column).map { String(cString: $0) }
    }

    private func query(_ sql: String, row: (OpaquePointer) -> Void) throws(Failure) {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(statement) }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))") }
            row(statement)
        }
    }
}
