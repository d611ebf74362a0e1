import CSQLite

/// An error reported by SQLite, with the extended result code and SQLite's own message.
///
/// The extended code is kept (not just the primary one) because the relay decides what to do
/// from it: `SQLITE_FULL` answers `outbox_full`-like errors without stopping the daemon, while
/// `SQLITE_NOTADB` / `SQLITE_CORRUPT` at start mean "refuse this file, never overwrite it".
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    public let extendedCode: Int32
    /// SQLite's message (`sqlite3_errmsg`), or `sqlite3_errstr` when no connection exists.
    public let message: String
    /// What the relay was doing, e.g. `"prepare"`, `"step"`, `"open"`; never statement arguments.
    public let operation: String

    public init(extendedCode: Int32, message: String, operation: String) {
        self.extendedCode = extendedCode
        self.message = message
        self.operation = operation
    }

    /// The primary result code (the low byte of the extended one).
    public var primaryCode: Int32 { extendedCode & 0xFF }

    /// The disk or the configured page limit is full.
    public var isFull: Bool { primaryCode == SQLITE_FULL }
    /// The file is not a database, or its content is damaged.
    public var isCorruptOrForeign: Bool { primaryCode == SQLITE_NOTADB || primaryCode == SQLITE_CORRUPT }
    /// Another connection holds a lock for longer than the busy timeout.
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    /// An I/O error from the operating system (EIO, ENOSPC reported as IOERR, ...).
    public var isIOError: Bool { primaryCode == SQLITE_IOERR }
    /// The database file could not be opened (missing directory, permissions).
    public var isCannotOpen: Bool { primaryCode == SQLITE_CANTOPEN }
    /// The connection is read-only or the file is not writable.
    public var isReadOnly: Bool { primaryCode == SQLITE_READONLY }

    public var description: String {
        let name = sqlite3_errstr(extendedCode).map { String(cString: $0) } ?? "unknown"
        return "SQLite \(operation) failed: \(message) (code \(extendedCode), \(name))"
    }
}
