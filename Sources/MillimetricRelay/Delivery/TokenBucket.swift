/// A token bucket that keeps one relay under one of the API's rate limits (SPEC §6: batch
/// 5/s burst 20; track-class 50/s burst 200, shared by identify and forget).
///
/// It starts full, so a relay that was idle may send `burst` requests at once, and then
/// refills at `rate` tokens a second. Implemented as the equivalent "generic cell rate
/// algorithm": one instant, the theoretical arrival time, instead of a fractional token count,
/// so there is no floating-point drift however long the relay runs.
///
/// Pure: the caller passes the current instant, so tests need no sleeping.
public struct TokenBucket: Sendable, Hashable {
    /// Tokens added per second.
    public let rate: Double
    /// How many tokens the bucket holds when full.
    public let burst: Int
    /// The time one token takes to refill: 1 s / rate.
    public let interval: Duration
    /// How far ahead of `now` the theoretical arrival time may run while a token is still
    /// available: (burst − 1) intervals.
    private let tolerance: Duration
    /// When the bucket would be back to exactly one token if nothing were taken; nil while
    /// it has never been used (full).
    private var theoreticalArrival: ContinuousClock.Instant?

    /// Creates a full bucket.
    /// - Precondition: `rate` is positive and finite; `burst` is at least 1.
    public init(rate: Double, burst: Int) {
        precondition(rate > 0 && rate.isFinite, "TokenBucket rate must be positive")
        precondition(burst >= 1, "TokenBucket burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self.interval = .seconds(1 / rate)
        self.tolerance = interval * (burst - 1)
    }

    /// Takes one token if there is one and returns `.zero`; otherwise takes nothing and returns
    /// how long until a token will be available.
    public mutating func take(now: ContinuousClock.Instant) -> Duration {
        let arrival = max(theoreticalArrival ?? now, now)
        let ahead = arrival - now
        if ahead > tolerance {
            return ahead - tolerance
        }
        theoreticalArrival = arrival + interval
        return .zero
    }

    /// How long until a token is available (`.zero` if one is now), without taking it.
    public func delayUntilAvailable(now: ContinuousClock.Instant) -> Duration {
        let ahead = max(theoreticalArrival ?? now, now) - now
        return ahead > tolerance ? ahead - tolerance : .zero
    }

    /// How many whole tokens the bucket holds at `now`.
    public func availableTokens(now: ContinuousClock.Instant) -> Int {
        let ahead = max(theoreticalArrival ?? now, now) - now
        guard ahead <= tolerance else { return 0 }
        return min(burst, Int(((tolerance - ahead) / interval).rounded(.down)) + 1)
    }

    /// Empties the bucket as of `now`: the next token comes one `interval` after it.
    ///
    /// Call it when the upstream answers 429, so that the relay slows to `rate` rather than
    /// bursting again. Pass the instant at which sending resumes (for example `now` plus the
    /// `Retry-After` wait) to keep the bucket from refilling during the wait. Never gives
    /// tokens back: if the bucket was already emptier than that, it stays so.
    public mutating func drain(now: ContinuousClock.Instant) {
        let empty = now + tolerance + interval
        theoreticalArrival = max(theoreticalArrival ?? empty, empty)
    }
}
