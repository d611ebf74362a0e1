/// What the drainer learned from the API, to be recorded in one commit: delivered rows leave
/// the outbox, refused ones move to the dead letters with the API's answer.
struct Settlement: Sendable {
    /// Inclusive `seq` ranges the API accepted (2xx).
    var delivered: [ClosedRange<Int64>] = []
    /// Rows the API refused for good.
    var deadLetters: [DeadLetter] = []
    /// Delivery state to record with it (last error, upstream state).
    var state: [(String, DeliveryStateValue)] = []

    struct DeadLetter: Sendable {
        var seq: Int64
        var status: Int
        var response: String
    }
}

/// What a settlement changed.
struct SettlementResult: Sendable, Equatable {
    var deliveredRows = 0
    var deadLettered = 0
    var freedBytes: Int64 = 0
}
