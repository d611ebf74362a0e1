import CSQLite

/// One SQLite database connection, owning its `sqlite3*` handle.
///
/// Not thread-safe on purpose: the relay gives each connection to exactly one thread (the
/// outbox writer, the drainer's reader, or a CLI command), following GRDB's "one writer, one
/// thread" model, so SQLite can run without its own mutexes (`SQLITE_OPEN_NOMUTEX`).
/// Close it explicitly with ``close()`` to see errors; `deinit` falls back to
/// `sqlite3_close_v2`, which also copes with statements still alive.
public final class SQLiteConnection {
    /// How to open the file.
    public enum Mode: Sendable {
        /// Read and write; create the file when it does not exist.
        case readWriteCreate
        /// Read and write an existing file only.
        case readWrite
        /// Read only (`status`, `dead-letters list`, the drainer's reader).
        case readOnly
    }

    private var handle: OpaquePointer?
    /// The busy timeout in effect (0: fail at once), as SQLite reports it: set with
    /// ``setBusyTimeout(milliseconds:)`` or with `PRAGMA busy_timeout` (a test hook's SQL), it
    /// is the one value a call that turns the handler off for a moment must put back.
    public var busyTimeoutMilliseconds: Int32 {
        guard handle != nil, let value = try? scalarInt64("PRAGMA busy_timeout") else { return 0 }
        return Int32(clamping: value)
    }
    /// The path the connection was opened with.
    public let path: String

    /// Process-wide settings, applied once before the first connection opens (SQLite accepts
    /// them only before it initialises). Nothing in the relay reads SQLite's memory statistics.
    private static let processConfiguration: Void = {
        _ = csqlite_disable_memory_statistics()
    }()

    /// Opens (or creates) the database at `path`.
    ///
    /// - Parameter vfs: the name of a registered SQLite VFS to open it through; nil, the
    ///   default, is the platform's own. Only test drivers pass one (the power-cut driver's
    ///   crash-simulating VFS); the relay never does.
    public init(path: String, mode: Mode, vfs: String? = nil) throws(SQLiteError) {
        _ = Self.processConfiguration
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, vfs)
        guard rc == SQLITE_OK, let db else {
            // sqlite3_open_v2 may allocate a handle even on failure; it must be closed.
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(extendedCode: rc, message: message, operation: "open")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        if let handle {
            sqlite3_close_v2(handle)
        }
    }

    /// Closes the connection. Every statement prepared on it must have been released first.
    public func close() throws(SQLiteError) {
        guard let db = handle else { return }
        let rc = sqlite3_close(db)
        guard rc == SQLITE_OK else {
            throw SQLiteError(extendedCode: rc, message: String(cString: sqlite3_errmsg(db)), operation: "close")
        }
        handle = nil
    }

    /// Whether ``close()`` has already run.
    public var isClosed: Bool { handle == nil }

    func requireHandle(_ operation: String) throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "the connection is closed", operation: operation)
        }
        return handle
    }

    func error(_ rc: Int32, _ operation: String) -> SQLiteError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return SQLiteError(extendedCode: rc, message: message, operation: operation)
    }

    /// Runs one or more SQL statements that return no rows we need (DDL, PRAGMA assignments).
    public func execute(_ sql: String) throws(SQLiteError) {
        let db = try requireHandle("execute")
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errorMessage)
            throw SQLiteError(extendedCode: sqlite3_extended_errcode(db), message: message, operation: "execute")
        }
    }

    /// Prepares a statement meant to be kept and reused (`SQLITE_PREPARE_PERSISTENT`).
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        let db = try requireHandle("prepare")
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw error(rc, "prepare")
        }
        return SQLiteStatement(handle: statement, connection: self)
    }

    /// Runs a query expected to return one row with one integer column (`PRAGMA user_version`,
    /// `SELECT count(*)`), or nil when it returns no row or NULL.
    public func scalarInt64(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.isNull(at: 0) ? nil : statement.int64(at: 0)
    }

    /// Runs a query expected to return one row with one text column (`PRAGMA journal_mode`).
    public func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(at: 0)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int {
        guard let handle else { return 0 }
        return Int(sqlite3_changes64(handle))
    }

    /// The rowid of the last successful INSERT.
    public var lastInsertRowID: Int64 {
        guard let handle else { return 0 }
        return sqlite3_last_insert_rowid(handle)
    }

    /// Whether a transaction is open (not in autocommit mode).
    public var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
    public func setBusyTimeout(milliseconds: Int32) throws(SQLiteError) {
        let db = try requireHandle("busy_timeout")
        let rc = sqlite3_busy_timeout(db, milliseconds)
        if rc != SQLITE_OK { throw error(rc, "busy_timeout") }
    }

    /// The version of the SQLite library linked at run time.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

@available(*, unavailable, message: "a connection belongs to one thread; open one per thread")
extension SQLiteConnection: Sendable {}
