/// Percentiles of per-event ack latency.
public struct LatencySummary: Sendable {
    public var count: Int
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var maxMilliseconds: Double

    /// Nearest-rank percentiles of `nanoseconds`; nil when empty.
    public init?(nanoseconds: [UInt64]) {
        guard !nanoseconds.isEmpty else { return nil }
        let sorted = nanoseconds.sorted()
        func percentile(_ p: Double) -> Double {
            let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return Double(sorted[min(max(rank, 0), sorted.count - 1)]) / 1e6
        }
        count = sorted.count
        p50Milliseconds = percentile(0.50)
        p99Milliseconds = percentile(0.99)
        maxMilliseconds = Double(sorted.last!) / 1e6
    }
}
