/// One `kill -9` of the relay, and what was going on at that moment.
struct KillRecord: Sendable {
    /// Lines written by producers and not yet acked: a group commit was gathering or running.
    var linesAwaitingAck: Int
    /// The stand-in received a /v1 request in the ~150 ms before the kill: delivery was active.
    var duringDelivery: Bool
    /// The upstream state at that moment.
    var fault: UpstreamFault
}
