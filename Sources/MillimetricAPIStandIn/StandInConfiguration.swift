/// What the command line decided: the limits and the faults the stand-in starts with.
///
/// `POST /_admin/reset` returns to exactly this, so a test that started the stand-in with
/// `--no-rate-limits` keeps that setting across resets.
struct StandInConfiguration: Sendable {
    /// The keys `--keys` listed; nil accepts every well-formed key.
    var knownKeys: Set<String>?
    var batchLimit = RateLimit.batchDefault
    var trackLimit = RateLimit.trackDefault
    var initialFaults = FaultState()
    /// The API's body limit: 256 KB.
    var maxBodyBytes = 262_144
}
