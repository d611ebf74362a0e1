/// The failure switches that tests flip through `POST /_admin/faults`.
///
/// They let an integration test stage every upstream condition the relay must survive (outage,
/// lost connections, slow answers, arbitrary statuses with `Retry-After`, single bad events and
/// rate limiting) without a real network fault.
struct FaultState: Sendable, Equatable {
    /// Every /v1 request gets 503 `unavailable`.
    var down = false
    /// Every /v1 request gets its connection closed without an answer.
    var dropConnections = false
    /// Milliseconds to wait before answering each /v1 request.
    var latencyMilliseconds = 0
    /// Answer /v1 requests with this status and `{"ok":false,"error":"forced"}`.
    var forceStatus: Int?
    /// Apply `forceStatus` to only this many more requests, then clear both.
    var forceCount: Int?
    /// A `Retry-After` header value sent with forced answers (set as a string, or as an integer
    /// number of seconds).
    var retryAfter: String?
    /// Events whose raw JSON contains this are refused with 400 `invalid_payload`.
    var rejectEventMarker: String?
    /// Whether the token buckets apply.
    var rateLimits = true

    /// Takes one forced answer, counting down `forceCount`; nil when nothing is forced.
    mutating func takeForcedStatus() -> Int? {
        guard let status = self.forceStatus else { return nil }
        if let count = self.forceCount {
            if count <= 1 {
                self.forceStatus = nil
                self.forceCount = nil
            } else {
                self.forceCount = count - 1
            }
        }
        return status
    }

    /// Applies a `POST /_admin/faults` body: fields that are absent keep their value.
    ///
    /// The whole update is checked before anything changes, and unknown fields are refused, so a
    /// test with a typo in a field name fails loudly instead of running without its fault.
    mutating func apply(_ update: [String: Any]) throws(APIError) {
        var next = self
        for (key, value) in update {
            switch key {
            case "down":
                next.down = try Self.bool(value, key)
            case "drop_connections":
                next.dropConnections = try Self.bool(value, key)
            case "rate_limits":
                next.rateLimits = try Self.bool(value, key)
            case "latency_ms":
                next.latencyMilliseconds = try Self.int(value, in: 0...600_000, "latency_ms: must be an integer from 0 to 600000")
            case "force_status":
                next.forceStatus = try Self.optionalInt(value, in: 200...599, "force_status: must be an HTTP status from 200 to 599, or null")
            case "force_count":
                next.forceCount = try Self.optionalInt(value, in: 1...Int.max, "force_count: must be a positive integer, or null")
            case "retry_after":
                // A number of seconds is taken as given; any other header value (an HTTP date,
                // or something malformed on purpose) as a string.
                if let seconds = JSONInput.int(value), seconds >= 0 {
                    next.retryAfter = String(seconds)
                } else {
                    next.retryAfter = try Self.optionalString(value, key, headerSafe: true)
                }
            case "reject_event_marker":
                let marker = try Self.optionalString(value, key, headerSafe: false)
                if marker == "" { throw Self.invalid("reject_event_marker: must not be empty") }
                next.rejectEventMarker = marker
            default:
                throw Self.invalid("\(key): unknown fault")
            }
        }
        self = next
    }

    /// The full state, as `POST /_admin/faults` answers it.
    var json: JSONValue {
        .object([
            ("down", .bool(self.down)),
            ("drop_connections", .bool(self.dropConnections)),
            ("latency_ms", .int(self.latencyMilliseconds)),
            ("force_status", .optional(self.forceStatus)),
            ("force_count", .optional(self.forceCount)),
            ("retry_after", .optional(self.retryAfter)),
            ("reject_event_marker", .optional(self.rejectEventMarker)),
            ("rate_limits", .bool(self.rateLimits)),
        ])
    }

    private static func invalid(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_faults", message: message)
    }

    private static func bool(_ value: Any, _ key: String) throws(APIError) -> Bool {
        guard let flag = JSONInput.bool(value) else { throw invalid("\(key): must be true or false") }
        return flag
    }

    private static func int(_ value: Any, in range: ClosedRange<Int>, _ message: String) throws(APIError) -> Int {
        guard let number = JSONInput.int(value), range.contains(number) else { throw invalid(message) }
        return number
    }

    private static func optionalInt(_ value: Any, in range: ClosedRange<Int>, _ message: String) throws(APIError) -> Int? {
        JSONInput.isNull(value) ? nil : try int(value, in: range, message)
    }

    private static func optionalString(_ value: Any, _ key: String, headerSafe: Bool) throws(APIError) -> String? {
        if JSONInput.isNull(value) { return nil }
        guard let text = value as? String else { throw invalid("\(key): must be a string, or null") }
        if headerSafe, text.isEmpty || text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw invalid("\(key): must be a non-empty header value without control characters")
        }
        return text
    }
}
