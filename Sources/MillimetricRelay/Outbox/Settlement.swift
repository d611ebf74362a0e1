/// What the drainer learned from the API, to be recorded in one commit: delivered rows leave
/// the outbox, refused ones move to the dead letters with the API's answer.
@_spi(Testing) public struct Settlement: Sendable {
    /// Inclusive `seq` ranges the API accepted (2xx).
    public var delivered: [ClosedRange<Int64>] = []
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
@_spi(Testing) public struct SettlementResult: Sendable, Equatable {
    var deliveredRows = 0
    var deadLettered = 0
    var freedBytes: Int64 = 0
}

extension Settlement {
    /// The API accepted the rows in `ranges` (for drivers outside the package, which cannot
    /// reach the memberwise initialiser).
    @_spi(Testing) public static func delivered(_ ranges: [ClosedRange<Int64>]) -> Settlement {
        Settlement(delivered: ranges)
    }
}
