/// A track event that passed validation, ready to store.
struct ValidatedEvent: Sendable {
    let eventID: String?
    let userID: String?
    /// The event's raw JSON as received, on one line.
    let line: [UInt8]
}
