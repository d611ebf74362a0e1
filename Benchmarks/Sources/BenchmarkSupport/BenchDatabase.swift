import CBenchSQLite
import RelayTestKit

/// A minimal owner of one `sqlite3*` for the bare-SQLite limit and for reading the relay's
/// outbox after a run. Used by one thread; closed in `deinit`.
final class BenchDatabase {
    let handle: OpaquePointer

    init(path: String, readOnly: Bool = false) throws(TestKitError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_NOMUTEX | (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            throw TestKitError("cannot open \(path): \(String(cString: sqlite3_errstr(rc)))")
        }
        handle = db
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    func execute(_ sql: String) throws(TestKitError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw TestKitError("\(sql): \(lastError)") }
    }

    /// A statement; the caller finalizes it with `sqlite3_finalize`.
    func prepare(_ sql: String) throws(TestKitError) -> OpaquePointer {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw TestKitError("prepare \(sql): \(lastError)") }
        return statement
    }

    /// The first column of the first row as an integer.
    func scalar(_ sql: String) throws(TestKitError) -> Int64 {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw TestKitError("\(sql): \(lastError)") }
        return sqlite3_column_int64(statement, 0)
    }

    static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
