/// Names one admin-log entry between the moment a request is logged and the moment it is answered.
///
/// The generation changes on `POST /_admin/reset`, so an answer still delayed by `latency_ms` when
/// a test resets the stand-in does not write into the new, empty log.
struct LogTicket: Sendable, Equatable {
    let generation: Int
    let sequence: Int
}
