import FoundationEssentials
import Glibc
import SQLiteSupport

/// Opens an existing outbox for the commands that work beside the daemon (`status`,
/// `dead-letters`): checks the file is there and is a millimetric-relay outbox, and maps SQLite's
/// failures to ``OutboxError`` the same way for all of them.
enum OutboxConnection {
    static func open(path: String, mode: SQLiteConnection.Mode, busyTimeoutMilliseconds: Int32) throws(OutboxError) -> SQLiteConnection {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .sqlite(SQLiteError(extendedCode: 14, message: "no outbox at \(path); has the daemon ever run with this state_dir?", operation: "open"))
        }
        return try mapping(path: path) { () throws(SQLiteError) -> Result<SQLiteConnection, OutboxError> in
            let connection = try SQLiteConnection(path: path, mode: mode)
            try connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
            guard try connection.scalarInt64("PRAGMA application_id") == OutboxSchema.applicationID else {
                try? connection.close()
                return .failure(.corruptOrForeign(path: path, detail: "it is not a millimetric-relay outbox"))
            }
            if mode != .readOnly { try connection.execute("PRAGMA secure_delete = ON") }
            return .success(connection)
        }.get()
    }

    /// Runs `body`, turning an SQLite error into the outbox's: a damaged or foreign file is
    /// `corruptOrForeign`, anything else `sqlite`.
    static func mapping<T>(path: String, _ body: () throws(SQLiteError) -> T) throws(OutboxError) -> T {
        do {
            return try body()
        } catch {
            throw error.isCorruptOrForeign ? .corruptOrForeign(path: path, detail: error.message) : .sqlite(error)
        }
    }
}
