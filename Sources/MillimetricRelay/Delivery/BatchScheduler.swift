/// When the next `/v1/batch` request goes and how full it is (SPEC §6): the drainer's policy
/// for track rows, pure, so that a simulated fleet can run it on a virtual clock.
///
/// Why the order of the checks matters: the send slot is checked before the rows are taken.
/// A relay that the fleet's 429s have slowed down thus waits for its slot with the rows still
/// queued, and sends the fullest batch it has when the slot comes, instead of a half-empty
/// batch cut when the flush interval ran out.
public enum BatchScheduler {
    public enum Decision: Equatable, Sendable {
        /// Send a batch of up to this many events now (the caller takes the slot).
        case send(maximumEvents: Int)
        /// Nothing to do before this instant (or before more rows arrive).
        case wait(until: ContinuousClock.Instant)
    }

    /// - Parameters:
    ///   - queued: track rows queued and not in flight.
    ///   - oldestQueuedAt: when the oldest of them was received.
    ///   - slotDelay: ``SendRateController/delayUntilSlot(now:)``.
    public static func decide(
        now: ContinuousClock.Instant, queued: Int, oldestQueuedAt: ContinuousClock.Instant?,
        flushInterval: Duration, maximumEvents: Int, slotDelay: Duration, idleWait: Duration = .seconds(1)
    ) -> Decision {
        guard queued > 0, let oldest = oldestQueuedAt else { return .wait(until: now + idleWait) }
        if slotDelay > .zero { return .wait(until: now + slotDelay) }
        if queued >= maximumEvents || now >= oldest + flushInterval {
            return .send(maximumEvents: min(queued, maximumEvents))
        }
        return .wait(until: oldest + flushInterval)
    }
}
