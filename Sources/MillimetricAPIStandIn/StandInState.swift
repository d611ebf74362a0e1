import NIOCore

/// Everything the stand-in remembers, guarded as one unit by ``StandInAPI``'s mutex.
struct StandInState: Sendable {
    /// Bumped by each reset, so answers to requests from before a reset are not logged after it.
    var generation: Int
    var faults: FaultState
    var store = EventStore()
    var log = RequestLog()
    var stats = TrafficStats()
    var batchBucket: TokenBucket
    var trackBucket: TokenBucket

    init(configuration: StandInConfiguration, generation: Int, now: NIODeadline) {
        self.generation = generation
        self.faults = configuration.initialFaults
        self.batchBucket = TokenBucket(limit: configuration.batchLimit, now: now)
        self.trackBucket = TokenBucket(limit: configuration.trackLimit, now: now)
    }
}
