import RelayTestKit

/// Read-only queries on a relay's outbox while it runs (WAL: never blocks the relay), for
/// benchmarks that watch rows leave it.
public final class OutboxQuery {
    private let database: BenchDatabase

    public init(path: String) throws(TestKitError) {
        database = try BenchDatabase(path: path, readOnly: true)
        try database.execute("PRAGMA busy_timeout = 2000")
    }

    /// The first column of the first row of `sql` as an integer.
    public func scalar(_ sql: String) throws(TestKitError) -> Int64 {
        try database.scalar(sql)
    }
}
