/// The WAL checkpoint a purge owes (SPEC §7), as the outbox writer tracks it.
///
/// Why: deleted rows stay readable in the WAL (and in the database file, until the WAL's zeroed
/// pages are copied over them) until a checkpoint copies every frame and truncates the WAL.
/// Any reader holding an older snapshot (`status`, a backup, a monitoring query) blocks that.
/// The writer must never wait for such a reader, since every ack waits behind the writer; so a
/// blocked checkpoint is retried on a timer until it completes, logged once per episode, and
/// recorded in the database so that `status` (another process) can show it.
struct PurgeCheckpoint {
    /// How long after a blocked attempt the next one runs.
    static let retryInterval: Duration = .seconds(1)

    /// A checkpoint is owed: a purge committed and its data may still be in the WAL.
    private(set) var isOwed = false
    /// When the next attempt may run; attempts before it are skipped.
    private(set) var nextAttempt = ContinuousClock.now
    /// Since when the checkpoint has been blocked, for the log line once it completes.
    private(set) var blockedSince: ContinuousClock.Instant?
    /// Whether the pending flag is in the database (`status` shows it); it must be cleared.
    var isRecorded = false

    /// A purge committed (or another process says one is owed): try at once.
    mutating func owe() {
        isOwed = true
        nextAttempt = .now
    }

    /// Whether an attempt is due now.
    func isDue(at now: ContinuousClock.Instant) -> Bool {
        isOwed && now >= nextAttempt
    }

    /// The attempt was blocked; returns true the first time in this episode (log it then).
    mutating func blocked(at now: ContinuousClock.Instant) -> Bool {
        nextAttempt = now + Self.retryInterval
        guard blockedSince == nil else { return false }
        blockedSince = now
        return true
    }

    /// The attempt completed; returns how long it had been blocked, if it was.
    mutating func completed(at now: ContinuousClock.Instant) -> Duration? {
        defer {
            isOwed = false
            blockedSince = nil
        }
        return blockedSince.map { now - $0 }
    }

    /// How long the writer may sleep while idle before the next attempt is due.
    func idleWait(atMost limit: Duration, now: ContinuousClock.Instant) -> Duration {
        guard isOwed else { return limit }
        return max(.zero, min(limit, nextAttempt - now))
    }
}
