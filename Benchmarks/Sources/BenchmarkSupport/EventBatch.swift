/// Events as NDJSON, in one contiguous buffer: what a client writes to the socket, with the end
/// of every line so that each event's write can be timed.
public struct EventBatch: Sendable {
    /// The lines, each ending in `\n`.
    public var bytes: [UInt8] = []
    /// For each event, the offset just past its `\n`.
    public var lineEnds: [Int] = []

    public init() {}

    public var count: Int { lineEnds.count }

    /// Mean bytes per event, without the newline.
    public var meanEventBytes: Double {
        count == 0 ? 0 : Double(bytes.count - count) / Double(count)
    }

    /// The first `count` events.
    public func prefix(_ count: Int) -> EventBatch {
        var batch = EventBatch()
        batch.lineEnds = Array(lineEnds.prefix(count))
        batch.bytes = Array(bytes.prefix(batch.lineEnds.last ?? 0))
        return batch
    }
}
