/// The `error` codes of a refusing ack: part of the socket protocol (SPEC §4), so stable.
public enum IngestErrorCode: String, Sendable, CaseIterable {
    /// Not UTF-8, or not parseable JSON.
    case invalidJSON = "invalid_json"
    /// Valid JSON that is not an object, or a field that breaks the event rules.
    case invalidPayload = "invalid_payload"
    /// Longer than `max_line_bytes`.
    case lineTooLong = "line_too_long"
    /// The outbox reached `max_outbox_bytes`, or its disk is full.
    case outboxFull = "outbox_full"
    /// The peer may not send this (a forget from a uid that is not allowed).
    case forbidden = "forbidden"
    /// The daemon is stopping and stored nothing.
    case shuttingDown = "shutting_down"
    /// Anything else; nothing was stored.
    case internalError = "internal_error"
}

/// A refusal of one line: nothing of it was stored. Only the relay's module makes one, so the
/// synthesized `init(code:message:)` serves.
public struct IngestRejection: Error, Sendable, Equatable {
    public let code: IngestErrorCode
    /// What to fix, naming the field.
    public let message: String
}
