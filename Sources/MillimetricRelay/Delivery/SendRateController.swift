/// The relay's own `/v1/batch` request rate when it may share its key with other relays
/// (SPEC §6, issue #12): additive increase, multiplicative decrease on 429, with the configured
/// `batch_rate`/`batch_burst` as the ceiling.
///
/// Why: the API's limit is per key, and a fleet of relays on one key cannot see each other.
/// Each relay learns its share from the 429s it draws. A relay that never draws one (a lone
/// relay) stays at the ceiling, so it behaves exactly as the plain token bucket did.
///
/// The increase per second of sending is `increaseGain · ceiling · (rate / ceiling)^1.25`.
/// With an exponent of 2 the share of requests answered 429 in the steady state would be
/// `increaseGain / (1 − decreaseFactor)` whatever the number of relays on the key, but nothing
/// would pull the relays' rates together; below 2 a relay below its fair share grows
/// relatively faster than one above it, at the cost of more 429s in large fleets (the share
/// of 429s grows as N^(2 − exponent)). 1.25 (it was 1.75) pulls three times as hard, for
/// 4 % of 429s with 64 relays in the simulation instead of 2 %.
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
/// A 429 that ends slow start or follows another 429 (no success between: the fleet is well
/// above the key) cuts to the rate the relay's requests were accepted at, when that is lower
/// than the 5 % cut (issue #12, round 5). While the key is the bottleneck its bucket is empty, so the
/// requests it accepts from a relay, over the relay's last ``deliveredRateSamples`` full
/// batches, are that relay's share of the key as it stands; the fleet's accepted rates sum to
/// the key's rate. A fleet fresh out of slow start is far above the key (4 relays at the
/// ceiling: 18 requests/s against 5), and 5 % cuts, one per `Retry-After` wait, took about two
/// minutes to bring it down, drawing 8.5 % 429s from 60 s to 120 s in the simulation and
/// 8.1–8.6 % in the real `.ci/fleet.sh` run; cutting to the accepted rate (times
/// ``deliveredRateMargin``, since hold-offs and refused requests make it an underestimate)
/// settles it in a few 429s (2.8 % of 429s from 60 s to 120 s, mean of 8 simulated seeds).
/// In the steady state 429s are isolated and the cut is the usual 5 %. Only backlogged
/// batches count (a relay with nothing more queued is accepted at its demand, not its share),
/// and one cut takes at most 40 % of the rate (``deepestCut``): the estimate rests on a few
/// answers, and a deep cut by bad luck takes long to grow back.
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
    /// Rate growth per second of sending, times `ceiling · (rate / ceiling)^1.25`.
    public var increaseGain = 0.0005
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
    /// How many of the latest successes (backlogged batches in a row) measure the accepted rate.
    public var deliveredRateSamples = 8
    /// The accepted rate is multiplied by this before it caps a cut: it underestimates the
    /// relay's share (the simulation's fleets settled 5–10 % under the key's rate with 1.0, and
    /// 1.3 and 1.5 drew about as few 429s).
    public var deliveredRateMargin = 1.5
    /// One 429 never takes the rate below this fraction of it.
    public var deepestCut = 0.6
    /// When the latest backlogged successes were answered, oldest first (at most
    /// ``deliveredRateSamples``); emptied by a success that was not backlogged.
    private var recentSuccesses: [ContinuousClock.Instant] = []
    /// Whether the latest answer was a 429 (a 429 after another, with no success between,
    /// means the fleet is well above the key).
    private var lastAnswerWasRateLimited = false
    /// Whether the latest success was sent with more than a batch queued.
    private var lastSuccessWasBacklogged = true
    /// When the latest ``usedRateSlots`` send slots were taken, oldest first.
    private var recentSlots: [ContinuousClock.Instant] = []
    private let usedRateSlots = 6

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
        recentSlots.append(now)
        if recentSlots.count > usedRateSlots { recentSlots.removeFirst() }
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
    /// only while the relay has more than it can send (`backlogged`: more than a full batch was
    /// queued when it went). A relay whose batches fill just in time for its slots, or that
    /// sends partial ones, needs no more of the key, and growing it anyway would take slots
    /// from the relays that do.
    public mutating func recordSuccess(now: ContinuousClock.Instant, backlogged: Bool = true) {
        guard adaptive else { return }
        lastAnswerWasRateLimited = false
        lastSuccessWasBacklogged = backlogged
        if backlogged {
            recentSuccesses.append(now)
            if recentSuccesses.count > deliveredRateSamples { recentSuccesses.removeFirst() }
        } else {
            recentSuccesses.removeAll()
        }
        let since = lastIncrease ?? now
        lastIncrease = now
        if !backlogged && isThrottled { return }
        if let holdOffUntil, now < holdOffUntil { return }
        if isStarting { return }
        // A slow relay's successes are far apart: count up to two of its slots, not less.
        let elapsed = min(max((now - since).timeInterval, 0), max(10, 2 / rate))
        let share = rate / ceilingRate
        let shareToThe125 = share * share.squareRoot().squareRoot()
        setRate(rate + increaseGain * ceilingRate * shareToThe125 * elapsed, now: now)
    }

    /// A 429 on a batch: cut the rate once per hold-off (the `Retry-After` wait, at least one
    /// second), so one overload episode costs one decrease, not one per request in flight.
    public mutating func recordRateLimited(now: ContinuousClock.Instant, retryAfter: Duration?) {
        ceiling.drain(now: now + (retryAfter ?? .zero))
        guard adaptive else { return }
        let holdOff = max(retryAfter ?? .seconds(1), .seconds(1))
        let overloaded = isStarting || lastAnswerWasRateLimited
        lastAnswerWasRateLimited = true
        if let holdOffUntil, now < holdOffUntil { return }
        holdOffUntil = now + holdOff
        lastIncrease = now + holdOff
        lastDecrease = now
        let cut = usedRate(now: now) * (isStarting ? slowStartExitFactor : decreaseFactor)
        setRate(overloaded ? min(cut, acceptedRateCap(now: now)) : cut, now: now)
        isStarting = false
        // The next request waits out the hold-off, then a slot at the new rate.
        nextSlot = now + holdOff
    }

    /// The rate a cut starts from: the rate, or the rate the relay has actually sent at over its
    /// latest slots (with a 10 % margin) if that is lower and its latest batch went with no
    /// more queued behind it. A relay whose offered events are fewer than its rate allows
    /// sends only what comes in; a cut of the unused headroom above that changed nothing, so
    /// it kept its whole offered rate while the backlogged relays shared the rest (shares up
    /// to 1.5 × the mean at 150 % of the key in the simulation).
    private func usedRate(now: ContinuousClock.Instant) -> Double {
        guard !lastSuccessWasBacklogged, recentSlots.count == usedRateSlots, let first = recentSlots.first, now > first else { return rate }
        return min(rate, 1.1 * Double(usedRateSlots - 1) / (now - first).timeInterval)
    }

    /// The accepted rate over the latest full-batch successes (with its margin, and not under
    /// ``deepestCut`` of the rate), or infinity while there are too few of them.
    private func acceptedRateCap(now: ContinuousClock.Instant) -> Double {
        guard recentSuccesses.count == deliveredRateSamples, let first = recentSuccesses.first, now > first else { return .infinity }
        let accepted = Double(deliveredRateSamples - 1) / (now - first).timeInterval
        return max(deliveredRateMargin * accepted, rate * deepestCut)
    }

    private mutating func setRate(_ newRate: Double, now: ContinuousClock.Instant) {
        let wasThrottled = isThrottled
        rate = min(ceilingRate, max(floorRate, newRate))
        if isThrottled && !wasThrottled && nextSlot == nil { nextSlot = now }
        if !isThrottled { nextSlot = nil }
    }
}
