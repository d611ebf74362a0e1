import CBenchSQLite
import RelayTestKit

/// The event rows a relay run left in its outbox: the exact rows the bare-SQLite limit inserts
/// again, so that both write the same number of rows of the same size.
public struct OutboxRows: Sendable {
    public var eventIDs = PackedStrings()
    public var userIDs = PackedStrings()
    public var bodies = PackedStrings()

    public var count: Int { bodies.count }
    public var meanBodyBytes: Double { count == 0 ? 0 : Double(bodies.bytes.count) / Double(count) }

    /// Reads every queued row of the outbox at `path`, in order (read-only).
    public init(outboxPath path: String) throws(TestKitError) {
        let database = try BenchDatabase(path: path, readOnly: true)
        let statement = try database.prepare("SELECT event_id, user_id, body FROM events ORDER BY seq")
        defer { sqlite3_finalize(statement) }
        func column(_ index: Int32) -> UnsafeRawBufferPointer? {
            if sqlite3_column_type(statement, index) == SQLITE_NULL { return nil }
            let pointer = sqlite3_column_blob(statement, index)
            return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(statement, index)))
        }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw TestKitError("reading \(path): \(database.lastError)") }
            eventIDs.append(column(0))
            userIDs.append(column(1))
            bodies.append(column(2))
        }
    }
}
