/// One thing the stand-in keeps: a track event, or an identify or forget body.
struct StoredRecord: Sendable {
    enum Kind: Sendable {
        case event
        case identify
        case forget
    }

    let kind: Kind
    /// The idempotency key of a track event that had one.
    let eventID: String?
    /// Whose record it is, for `/v1/forget`.
    let userID: String?
    /// The record as one line of JSON, without the newline.
    let line: [UInt8]
}
