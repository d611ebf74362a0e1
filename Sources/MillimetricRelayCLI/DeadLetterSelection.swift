import ArgumentParser

/// Which dead letters `dead-letters retry` and `purge` act on: ids from `dead-letters list`, or
/// `--all`; exactly one of the two.
struct DeadLetterSelection: ParsableArguments {
    @Flag(help: "Every dead letter.") var all = false
    @Argument(help: "Ids from `dead-letters list`.") var ids: [Int64] = []

    func validate() throws {
        if all == !ids.isEmpty { throw ValidationError("give dead letter ids, or --all") }
    }

    /// The ids to act on; nil: every dead letter.
    var selected: [Int64]? { all ? nil : ids }
}
