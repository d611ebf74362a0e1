import Synchronization

/// Ingest counts that `status` shows beside the queue: lines read on the socket (and refused),
/// HTTP requests by path and status.
///
/// `status` reads only the database (it works while the daemon is stopped), so these counts
/// live in `delivery_state` like `delivered_total`. Handlers add to a pending tally here (a
/// lock and a dictionary update, no I/O); the ``OutboxWriter`` moves it into the database in
/// the next group commit it makes anyway, or within a second when idle. Counts are totals since
/// the outbox was created; the Prometheus counters beside them reset with each start.
public final class IngestTally: Sendable {
    /// `delivery_state` key of the lines read on the socket (every line that gets an ack).
    public static let linesReceivedKey = "lines_received"
    /// `delivery_state` key of the lines refused with an error ack.
    public static let linesRefusedKey = "lines_refused"
    /// Prefix of the HTTP request keys: `http_requests <path> <status>`.
    public static let httpRequestsPrefix = "http_requests "

    private let pending = Mutex<[String: Int64]>([:])

    public init() {}

    /// The key of one HTTP request count, such as `http_requests /v1/track 202`.
    public static func httpRequestsKey(path: String, status: Int) -> String {
        "\(httpRequestsPrefix)\(path) \(status)"
    }

    /// The path and status in an HTTP request key; nil for any other key.
    public static func httpRequest(fromKey key: String) -> (path: String, status: Int)? {
        guard key.hasPrefix(httpRequestsPrefix) else { return nil }
        let rest = key.dropFirst(httpRequestsPrefix.count)
        guard let space = rest.lastIndex(of: " "), let status = Int(rest[rest.index(after: space)...]) else { return nil }
        return (String(rest[..<space]), status)
    }

    func add(_ key: String, _ count: Int64 = 1) {
        guard count != 0 else { return }
        pending.withLock { $0[key, default: 0] += count }
    }

    /// Takes what was counted since the last call (nothing is counted twice).
    func take() -> [(key: String, count: Int64)] {
        pending.withLock { pending in
            guard !pending.isEmpty else { return [] }
            defer { pending.removeAll(keepingCapacity: true) }
            return pending.map { ($0.key, $0.value) }
        }
    }

    /// Puts counts back (their transaction rolled back), so they are written with the next one.
    func restore(_ counts: [(key: String, count: Int64)]) {
        for (key, count) in counts { add(key, count) }
    }
}
