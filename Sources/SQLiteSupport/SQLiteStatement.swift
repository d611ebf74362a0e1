import CSQLite

/// A prepared statement, finalized when released.
///
/// Statements are prepared once and reused with ``reset()`` on the hot path (the outbox inserts
/// tens of thousands of rows a second); re-preparing would cost more than the insert itself.
/// A statement keeps its connection alive, and belongs to the same single thread.
public final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(handle)
    }

    private func check(_ rc: Int32, _ operation: String) throws(SQLiteError) {
        if rc != SQLITE_OK { throw connection.error(rc, operation) }
    }

    /// Binds an integer to the 1-based parameter `index`.
    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value), "bind")
    }

    /// Binds an integer to the 1-based parameter `index`.
    public func bind(_ value: Int, at index: Int32) throws(SQLiteError) {
        try bind(Int64(value), at: index)
    }

    /// Binds a string (copied by SQLite), or NULL for nil.
    public func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        guard var value else {
            try check(sqlite3_bind_null(handle, index), "bind")
            return
        }
        let rc = value.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                csqlite_bind_text_transient(handle, index, chars.baseAddress, Int32(chars.count))
            }
        }
        try check(rc, "bind")
    }

    /// Binds UTF-8 text without copying it.
    ///
    /// - Important: the bytes must stay valid and unchanged until the statement is stepped and
    ///   reset, or rebound. Use it inside the `withUnsafeBytes` scope that also steps.
    public func bindTextNoCopy(_ utf8: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        let base = utf8.baseAddress?.assumingMemoryBound(to: CChar.self)
        // A nil pointer would bind NULL; an empty text needs a valid pointer.
        let rc: Int32
        if let base {
            rc = csqlite_bind_text_static(handle, index, base, Int32(utf8.count))
        } else {
            rc = csqlite_bind_text_transient(handle, index, "", 0)
        }
        try check(rc, "bind")
    }

    /// Binds NULL.
    public func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index), "bind")
    }

    /// Runs the statement one step: `true` when a row is available, `false` when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            // Reset so that a later reuse starts clean; the step's error is what matters.
            sqlite3_reset(handle)
            throw connection.error(rc, "step")
        }
    }

    /// Makes the statement ready to run again; bindings are kept.
    public func reset() {
        sqlite3_reset(handle)
    }

    /// Resets and clears every binding.
    public func clearBindings() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Whether column `index` (0-based) of the current row is NULL.
    public func isNull(at index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    /// Column `index` of the current row as an integer.
    public func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// Column `index` of the current row as text, or nil for NULL.
    public func text(at index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// Column `index` of the current row as raw bytes (text or blob), or nil for NULL.
    public func bytes(at index: Int32) -> [UInt8]? {
        if sqlite3_column_type(handle, index) == SQLITE_NULL { return nil }
        // Ask for the text form first so that the byte count refers to it.
        let pointer = sqlite3_column_blob(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Appends column `index` of the current row to `buffer` without an intermediate copy.
    public func appendBytes(at index: Int32, to buffer: inout [UInt8]) {
        let pointer = sqlite3_column_blob(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        guard let pointer, count > 0 else { return }
        buffer.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

@available(*, unavailable, message: "a statement belongs to its connection's thread")
extension SQLiteStatement: Sendable {}
