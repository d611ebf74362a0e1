/// One outbox row on its way upstream, as the drainer read it.
struct QueuedRow: Sendable {
    var seq: Int64
    var kind: EventKind
    var eventID: String
    var userID: String?
    /// The exact JSON stored at ingest; sent as is.
    var body: [UInt8]
    var receivedAt: Int64
}
