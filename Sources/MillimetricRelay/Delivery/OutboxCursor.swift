/// Where the drainer has read up to in each lane of the outbox (``OutboxLane``): the `seq` of
/// the last row it took from each. Rows after a cursor are the ones not yet handed out.
struct OutboxCursor: Sendable, Equatable {
    /// The live lane's: 0 before the first row (live rows start at 1).
    var live: Int64 = 0
    /// The backfill lane's: just below the first backfill `seq`.
    var backfill: Int64 = OutboxLane.backfillFloor - 1

    /// The drainer took rows up to `seq`, in that row's lane.
    mutating func advance(past seq: Int64) {
        switch OutboxLane.of(seq: seq) {
        case .live: live = max(live, seq)
        case .backfill: backfill = max(backfill, seq)
        }
    }
}
