/// A line that passed validation: the exact JSON the API will receive, plus what the outbox
/// and the ack need to know about it.
public struct ValidatedEvent: Sendable, Equatable {
    public let kind: EventKind
    /// The event id as a JSON string literal (with quotes and escapes), ready for the ack.
    public let eventIDLiteral: [UInt8]
    /// The event id as text, for the outbox's `event_id` column.
    public let eventID: String
    /// The user the event belongs to, used by forget's purge; nil when absent.
    public let userID: String?
    /// The canonical JSON sent upstream: a batch member for track, the whole body otherwise.
    public let body: [UInt8]
    /// Each ignored field's note, as a JSON string literal, for the ack's `warnings`.
    public let warnings: [[UInt8]]
}
