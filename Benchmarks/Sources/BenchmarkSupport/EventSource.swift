/// What a ``PipelinedConnection`` writes.
public enum EventSource: Sendable {
    /// Events generated before the clock starts, written as one stream; every event's write and
    /// ack are timed.
    case pregenerated(EventBatch)
    /// `chunks` batches of `events` events in all, made on the writer thread as it goes (a large
    /// backlog that would not fit in memory at once); not timed per event.
    case generated(chunks: Int, events: Int, make: @Sendable (Int) -> EventBatch)
}
