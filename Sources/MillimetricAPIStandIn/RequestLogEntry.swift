/// One /v1 request in the admin log: what came in, and what was answered when.
struct RequestLogEntry: Sendable {
    let sequence: Int
    let path: String
    let receivedMilliseconds: Int64
    /// The `event_id` of each event in the body, in order (nil where an event has none).
    let eventIDs: [String?]
    /// The `user_id` of each event, or of the identify/forget body (nil where absent).
    let userIDs: [String?]
    /// The status answered; 0 when the connection was dropped; nil while still unanswered.
    var status: Int?
    var sentMilliseconds: Int64?

    var json: JSONValue {
        .object([
            ("seq", .int(self.sequence)),
            ("at_ms", self.sentMilliseconds.map { .int(Int($0)) } ?? .null),
            ("received_ms", .int(Int(self.receivedMilliseconds))),
            ("path", .string(self.path)),
            ("status", .optional(self.status)),
            ("event_ids", .array(self.eventIDs.map(JSONValue.optional))),
            ("user_ids", .array(self.userIDs.map(JSONValue.optional))),
        ])
    }
}
