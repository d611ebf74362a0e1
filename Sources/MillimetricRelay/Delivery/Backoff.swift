/// Exponential backoff with full jitter, for retrying after 5xx, 408 and transport errors.
///
/// After the n-th consecutive failure (counting from 0) the delay is drawn uniformly from
/// `[0, min(ceiling, base × 2ⁿ)]` ("full jitter"). Spreading each retry over the whole window,
/// rather than around its end, keeps many relays that failed together from retrying together
/// (SPEC §6: default 0.5 s doubling to a 30 s ceiling; retrying never stops).
///
/// A value type with no clock and no randomness of its own: the caller passes the random
/// number generator, so tests can seed it.
public struct Backoff: Sendable, Hashable {
    /// The window after the first failure.
    public let base: Duration
    /// The largest window, reached after enough consecutive failures.
    public let ceiling: Duration
    /// How many failures in a row `nextDelay` has been asked about since the last `reset()`.
    public private(set) var consecutiveFailures: Int = 0

    /// Creates a backoff with the given first window and ceiling.
    /// - Precondition: `base` and `ceiling` are not negative.
    public init(base: Duration = .milliseconds(500), ceiling: Duration = .seconds(30)) {
        precondition(base >= .zero && ceiling >= .zero, "Backoff durations must not be negative")
        self.base = base
        self.ceiling = ceiling
    }

    /// The upper end of the window after `failures` consecutive failures before this one:
    /// `min(ceiling, base × 2^failures)`, without overflowing however many failures there were.
    public func window(afterFailures failures: Int) -> Duration {
        var window = min(base, ceiling)
        var doublings = max(0, failures)
        while doublings > 0 && window < ceiling && window > .zero {
            window = window * 2 > ceiling ? ceiling : window * 2
            doublings -= 1
        }
        return window
    }

    /// Records one more failure and returns how long to wait before the next attempt: uniform
    /// in `[0, window]`, where the window doubles with each consecutive failure up to `ceiling`.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        let window = window(afterFailures: consecutiveFailures)
        if consecutiveFailures < Int.max {
            consecutiveFailures += 1
        }
        let windowNanoseconds = Self.nanoseconds(window)
        guard windowNanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...windowNanoseconds, using: &rng))
    }

    /// Starts over after a success: the next failure waits within `base` again.
    public mutating func reset() {
        consecutiveFailures = 0
    }

    /// Whole nanoseconds in `duration`, saturating at `Int64.max` (292 years).
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : total
    }
}
