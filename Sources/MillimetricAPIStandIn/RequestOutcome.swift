import NIOCore

/// What the HTTP handler should do with a request, as decided by ``StandInAPI``.
enum RequestOutcome: Sendable {
    /// Write `response` after `delay`; report it to the log through `ticket` (nil: not logged).
    case answer(APIResponse, delay: TimeAmount, ticket: LogTicket?)
    /// Close the connection without answering (the `drop_connections` fault).
    case drop(ticket: LogTicket?)
}
