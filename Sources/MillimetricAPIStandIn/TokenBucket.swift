import NIOCore

/// A token bucket like the API's: `burst` tokens, refilled at `perSecond`, one per request.
///
/// It runs on the monotonic clock so a wall-clock step cannot hand out or take away tokens.
struct TokenBucket: Sendable {
    let limit: RateLimit
    private var tokens: Double
    private var updated: NIODeadline

    init(limit: RateLimit, now: NIODeadline) {
        self.limit = limit
        self.tokens = Double(limit.burst)
        self.updated = now
    }

    /// Takes a token if one is there. Returns nil when the request may pass, else the whole
    /// seconds (at least 1) until a token will be there, for `Retry-After`.
    mutating func take(now: NIODeadline) -> Int? {
        let elapsed = Double((now - self.updated).nanoseconds) / 1_000_000_000
        if elapsed > 0 {
            self.tokens = min(Double(self.limit.burst), self.tokens + elapsed * self.limit.perSecond)
            self.updated = now
        }
        if self.tokens >= 1 {
            self.tokens -= 1
            return nil
        }
        let wait = (1 - self.tokens) / self.limit.perSecond
        return max(1, Int(wait.rounded(.up)))
    }
}
