/// The relay's own `/v1/batch` request rate when it may share its key with other relays
/// (SPEC §6, issue #12): additive increase, multiplicative decrease on 429, with the configured
/// `batch_rate`/`batch_burst` as the ceiling.
///
/// Why: the API's limit is per key, and a fleet of relays on one key cannot see each other.
/// Each relay learns its share from the 429s it draws. A relay that never draws one (a lone
/// relay) stays at the ceiling, so it behaves exactly as the plain token bucket did.
///
/// The increase is proportional to the square of the current rate (`increaseGain · rate²` per
/// second of sending). With the decrease multiplicative, the share of requests answered 429 in
/// the steady state is then about `increaseGain / (1 − decreaseFactor)` whatever the number of
/// relays on the key: a fleet of 64 slow relays probes as gently, in 429s per request, as one
/// fast relay. A lower rate also means fuller batches: the drainer waits for the next send
/// slot before it takes rows, so the batch grows while it waits.
///
/// Pure: every call takes the current instant, so a simulated fleet runs on a virtual clock.
public struct SendRateController: Sendable {
    /// The configured ceiling (requests a second) and its burst.
    public let ceilingRate: Double
    public let ceilingBurst: Int
    /// Multiplied into the rate on a 429 (at most once per hold-off).
    public var decreaseFactor = 0.75
    /// Rate growth per second of sending, times rate².
    public var increaseGain = 0.005
    /// The rate never falls below this (requests a second): a relay keeps probing.
    public var floorRate = 0.01
    /// Turned off to compare with the plain token bucket (the simulation's control).
    public var adaptive = true

    /// The current rate in requests a second.
    public private(set) var rate: Double
    private var ceiling: TokenBucket
    /// When the next request may go at `rate` (below the ceiling only).
    private var nextSlot: ContinuousClock.Instant?
    private var lastDecrease: ContinuousClock.Instant?
    private var holdOffUntil: ContinuousClock.Instant?
    private var lastIncrease: ContinuousClock.Instant?

    public init(ceilingRate: Double, ceilingBurst: Int) {
        self.ceilingRate = ceilingRate
        self.ceilingBurst = ceilingBurst
        self.rate = ceilingRate
        self.ceiling = TokenBucket(rate: ceilingRate, burst: ceilingBurst)
    }

    /// Whether the relay currently runs below its ceiling (then it paces one request per slot).
    public var isThrottled: Bool { rate < ceilingRate }

    /// How long until a request may go (`.zero` if one may now), without taking the slot.
    public func delayUntilSlot(now: ContinuousClock.Instant) -> Duration {
        var delay = ceiling.delayUntilAvailable(now: now)
        if isThrottled, let nextSlot, nextSlot > now { delay = max(delay, nextSlot - now) }
        return delay
    }

    /// Takes the slot if there is one and returns `.zero`; otherwise returns the wait.
    public mutating func takeSlot(now: ContinuousClock.Instant) -> Duration {
        let delay = delayUntilSlot(now: now)
        guard delay == .zero else { return delay }
        _ = ceiling.take(now: now)
        if isThrottled {
            // Slots are spaced 1/rate apart; a slot unused for a while is not saved up beyond one.
            let spacing = Duration.seconds(1 / rate)
            let previous = nextSlot ?? now
            nextSlot = max(previous, now - spacing) + spacing
            if nextSlot! < now { nextSlot = now + spacing }
        }
        if lastIncrease == nil { lastIncrease = now }
        return .zero
    }

    /// A 2xx on a batch: grow the rate for the time spent sending since the last growth, but
    /// only while the relay has more than it can send (`backlogged`: the batch was full). A
    /// relay that sends partial batches needs no more of the key, and growing it anyway would
    /// take slots from the relays that do.
    public mutating func recordSuccess(now: ContinuousClock.Instant, backlogged: Bool = true) {
        guard adaptive else { return }
        let since = lastIncrease ?? now
        lastIncrease = now
        if !backlogged && isThrottled { return }
        if let holdOffUntil, now < holdOffUntil { return }
        let elapsed = min(max((now - since).timeInterval, 0), 10)
        setRate(rate + increaseGain * rate * rate * elapsed, now: now)
    }

    /// A 429 on a batch: cut the rate once per hold-off (the `Retry-After` wait, at least one
    /// second), so one overload episode costs one decrease, not one per request in flight.
    public mutating func recordRateLimited(now: ContinuousClock.Instant, retryAfter: Duration?) {
        ceiling.drain(now: now + (retryAfter ?? .zero))
        guard adaptive else { return }
        let holdOff = max(retryAfter ?? .seconds(1), .seconds(1))
        if let holdOffUntil, now < holdOffUntil { return }
        holdOffUntil = now + holdOff
        lastIncrease = now + holdOff
        lastDecrease = now
        setRate(rate * decreaseFactor, now: now)
        // The next request waits out the hold-off, then a slot at the new rate.
        nextSlot = now + holdOff
    }

    private mutating func setRate(_ newRate: Double, now: ContinuousClock.Instant) {
        let wasThrottled = isThrottled
        rate = min(ceilingRate, max(floorRate, newRate))
        if isThrottled && !wasThrottled && nextSlot == nil { nextSlot = now }
        if !isThrottled { nextSlot = nil }
    }
}
