/// The relay's own `/v1/batch` request rate when it may share its key with other relays
/// (SPEC §6, issue #12): additive increase, multiplicative decrease on 429, with the configured
/// `batch_rate`/`batch_burst` as the ceiling.
///
/// Why: the API's limit is per key, and a fleet of relays on one key cannot see each other.
/// Each relay learns its share from the 429s it draws. A relay that never draws one (a lone
/// relay) stays at the ceiling, so it behaves exactly as the plain token bucket did.
///
/// The increase per second of sending is `increaseGain · ceiling · (rate / ceiling)^1.75`.
/// With an exponent of 2 the share of requests answered 429 in the steady state would be
/// `increaseGain / (1 − decreaseFactor)` whatever the number of relays on the key, but nothing
/// would pull the relays' rates together; a little below 2 a relay below its fair share grows
/// relatively faster than one above it, at the cost of slightly more 429s in large fleets.
/// The decrease is small (5 %): each 429 is a noisy sample of the fleet's state, and small
/// steps keep the relays' shares from drifting apart by luck. The send slots are jittered
/// (±20 %) so that relays paced at the same rate do not lock onto the same phase of the API's
/// bucket, where the same relays would always find it empty.
///
/// Slow start: a relay created with a `startingRate` (the drainer uses ceiling/16) paces its
/// first slots at that rate and multiplies the rate by ``slowStartGrowth`` at each slot taken,
/// until its first 429 (which cuts by ``slowStartExitFactor``) or the ceiling. A fleet started
/// at once thus no longer sends at the full ceiling each and draws mostly 429s while the 5 %
/// cuts bring it down; a lone relay reaches the ceiling after about 9 s (7 slots).
///
/// A lower rate also means fuller batches: the drainer waits for the next send slot before it
/// takes rows, so the batch grows while it waits.
///
/// Pure: every call takes the current instant (and the jitter's random source), so a simulated
/// fleet runs on a virtual clock.
public struct SendRateController: Sendable {
    /// The configured ceiling (requests a second) and its burst.
    public let ceilingRate: Double
    public let ceilingBurst: Int
    /// Multiplied into the rate on a 429 (at most once per hold-off).
    public var decreaseFactor = 0.95
    /// Rate growth per second of sending, times `ceiling · (rate / ceiling)^1.75`.
    public var increaseGain = 0.002
    /// The rate never falls below this (requests a second): a relay keeps probing.
    public var floorRate: Double
    /// The send slots' spacing varies by up to this fraction either way.
    public var slotJitter = 0.2
    /// Turned off to compare with the plain token bucket (the simulation's control).
    public var adaptive = true
    /// In slow start each slot taken multiplies the rate by this.
    public var slowStartGrowth = 1.5
    /// The first 429 (which ends slow start) multiplies the rate by this.
    public var slowStartExitFactor = 0.9
    /// Whether the relay is in slow start: it has been created with a starting rate and has
    /// not drawn a 429 yet.
    public private(set) var isStarting: Bool

    /// The current rate in requests a second.
    public private(set) var rate: Double
    private var ceiling: TokenBucket
    /// When the next request may go at `rate` (below the ceiling only).
    private var nextSlot: ContinuousClock.Instant?
    private var lastDecrease: ContinuousClock.Instant?
    private var holdOffUntil: ContinuousClock.Instant?
    private var lastIncrease: ContinuousClock.Instant?

    /// - Parameter startingRate: the rate of the first send slot, for slow start; nil to
    ///   start at the ceiling.
    public init(ceilingRate: Double, ceilingBurst: Int, startingRate: Double? = nil) {
        self.ceilingRate = ceilingRate
        self.ceilingBurst = ceilingBurst
        self.rate = min(ceilingRate, startingRate ?? ceilingRate)
        self.isStarting = startingRate != nil
        self.floorRate = ceilingRate / 160
        self.ceiling = TokenBucket(rate: ceilingRate, burst: ceilingBurst)
    }

    /// Whether the relay currently runs below its ceiling (then it paces one request per slot).
    public var isThrottled: Bool { rate < ceilingRate }

    /// How long the oldest queued row may wait before a partial batch goes: `flush_interval`
    /// at the ceiling (a lone relay keeps its latency), but up to three send slots while
    /// throttled (not in slow start, which is over in seconds). A slowed relay that sent a partial batch at every slot would spend the key's
    /// requests on half-empty batches, and a fleet offered 96 % of the key could not keep up;
    /// waiting three slots fills the batches (a slot left unused is saved up, so the relay does
    /// not fall behind), at the price of a few slots' latency, which a shared key costs anyway.
    public func flushInterval(configured: Duration) -> Duration {
        isThrottled && !isStarting ? max(configured, .seconds(3 / rate)) : configured
    }

    /// How long until a request may go (`.zero` if one may now), without taking the slot.
    public func delayUntilSlot(now: ContinuousClock.Instant) -> Duration {
        var delay = ceiling.delayUntilAvailable(now: now)
        if isThrottled, let nextSlot, nextSlot > now { delay = max(delay, nextSlot - now) }
        return delay
    }

    /// Takes the slot if there is one and returns `.zero`; otherwise returns the wait.
    public mutating func takeSlot<R: RandomNumberGenerator>(now: ContinuousClock.Instant, using rng: inout R) -> Duration {
        let delay = delayUntilSlot(now: now)
        guard delay == .zero else { return delay }
        _ = ceiling.take(now: now)
        if isStarting {
            // The next slot is spaced at the current rate, then the rate grows.
            let spacing = Duration.seconds(1 / rate)
            rate = min(ceilingRate, rate * slowStartGrowth)
            nextSlot = isThrottled ? now + spacing : nil
        } else if isThrottled {
            // Slots are spaced 1/rate apart; a slot unused for a while is not saved up beyond one.
            let jitter = slotJitter > 0 ? Double.random(in: -slotJitter...slotJitter, using: &rng) : 0
            let spacing = Duration.seconds((1 + jitter) / rate)
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
        if isStarting { return }
        // A slow relay's successes are far apart: count up to two of its slots, not less.
        let elapsed = min(max((now - since).timeInterval, 0), max(10, 2 / rate))
        let share = rate / ceilingRate
        let shareToThe075 = share.squareRoot() * share.squareRoot().squareRoot()
        setRate(rate + increaseGain * ceilingRate * share * shareToThe075 * elapsed, now: now)
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
        setRate(rate * (isStarting ? slowStartExitFactor : decreaseFactor), now: now)
        isStarting = false
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
