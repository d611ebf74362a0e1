/// Counters for `GET /_admin/stats`.
struct TrafficStats: Sendable {
    var requests = 0
    var byPath: [String: Int] = [:]
    var byStatus: [Int: Int] = [:]
    var duplicates = 0
    var identifies = 0
    var forgets = 0
    /// Requests whose connection was closed without an answer (`drop_connections`).
    var dropped = 0

    mutating func countArrival(path: String) {
        self.requests += 1
        self.byPath[path, default: 0] += 1
    }

    mutating func countAnswer(status: Int) {
        if status == 0 {
            self.dropped += 1
        } else {
            self.byStatus[status, default: 0] += 1
        }
    }

    /// The stats object; `events` is the number of unique track events stored now.
    func json(storedEvents: Int) -> JSONValue {
        .object([
            ("requests", .int(self.requests)),
            ("by_path", .object(self.byPath.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("by_status", .object(self.byStatus.sorted { $0.key < $1.key }.map { (String($0.key), .int($0.value)) })),
            ("events", .int(storedEvents)),
            ("duplicates", .int(self.duplicates)),
            ("identifies", .int(self.identifies)),
            ("forgets", .int(self.forgets)),
            ("dropped", .int(self.dropped)),
        ])
    }
}
