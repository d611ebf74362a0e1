import Synchronization

/// The phases of a run, shared by every thread: producing new events, then only finishing
/// what is unacked, until a give-up time.
final class RunControl: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let giveUp = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether producers still make new events (the chaos phase).
    var producing: Bool { !stopped.load(ordering: .relaxed) }

    /// Ends the chaos phase: no new events; producers resend until acked, at most `grace`.
    func stopProducing(grace: Duration) {
        giveUp.withLock { $0 = .now + grace }
        stopped.store(true, ordering: .relaxed)
    }

    var shouldGiveUp: Bool { giveUp.withLock { $0.map { ContinuousClock.now > $0 } ?? false } }
}
