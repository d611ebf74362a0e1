/// The delivery rate that `status` quotes for a backfill's drain ETA (issue 16): events
/// delivered per second, measured by the writer over windows of at least ``window``
/// milliseconds and recorded in `delivery_state` when a window closes. `status` is another
/// process that reads the database only, so the rate has to be stored to be seen.
struct DeliveryRateMeter: Sendable {
    static let window: Int64 = 10_000
    /// `delivery_state` keys: the rate (events/s) and when it was measured (Unix ms).
    static let rateKey = "delivery_rate"
    static let measuredAtKey = "delivery_rate_at"

    private var windowStart: Int64?
    private var delivered: Int64 = 0

    /// Counts `rows` delivered at `now` (Unix ms); returns the state values to record when a
    /// window has closed.
    mutating func record(_ rows: Int, now: Int64) -> [(String, DeliveryStateValue)] {
        guard let start = windowStart else {
            // The first settlement opens the window; its rows were sent before it.
            windowStart = now
            return []
        }
        delivered += Int64(rows)
        let elapsed = now - start
        guard elapsed >= Self.window else { return [] }
        let rate = delivered * 1000 / elapsed
        windowStart = now
        delivered = 0
        return [(Self.rateKey, .integer(rate)), (Self.measuredAtKey, .integer(now))]
    }
}
