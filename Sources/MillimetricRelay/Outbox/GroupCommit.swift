import FoundationEssentials
import SQLiteSupport

/// One group commit's work inside its transaction: the events it inserts or refuses for the
/// cap, the forgets' purges and the settlements, with the running totals the cap is checked
/// against as it goes (a forget early in a group frees space for the lines after it).
///
/// Nothing in it is visible outside the writer thread until the transaction has committed:
/// then ``OutboxWriter`` publishes the totals, answers each operation with its outcomes and
/// logs; if the transaction fails the whole value is dropped with it.
struct GroupCommit {
    var storedBytes: Int64
    var queuedEvents: Int64
    /// The last live `seq`; backfill rows are numbered apart (``OutboxLane``).
    var lastSeq: Int64
    let maximumBytes: Int64
    /// One array of outcomes per ingest operation, in order.
    private(set) var ingestOutcomes: [[OutboxWriter.Outcome]] = []
    private(set) var settlementResults: [SettlementResult] = []
    /// Rows (queued or dead letters) that forgets removed: a checkpoint is owed.
    private(set) var purged = false
    private(set) var inserted: Int64 = 0
    private(set) var refusedForCap = false
    private(set) var forgets: [(eventID: String, queued: Int, deadLetters: Int)] = []

    init(startingFrom snapshot: OutboxWriter.Snapshot, maximumBytes: Int64) {
        storedBytes = snapshot.storedBytes
        queuedEvents = snapshot.queuedEvents
        lastSeq = snapshot.lastSeq
        self.maximumBytes = maximumBytes
    }

    /// Stores the events of one submission (or refuses them, one by one for the cap, or all
    /// of them when `allOrNothing` and their sum does not fit).
    mutating func ingest(
        _ events: [ValidatedEvent], receivedAt: Int64, allOrNothing: Bool, lane: OutboxLane, store: OutboxStore, backfillSeq: inout Int64
    ) throws(SQLiteError) {
        if allOrNothing, case let total = events.reduce(Int64(0), { $0 + Int64($1.body.count) }), storedBytes + total > maximumBytes {
            let rejection = IngestRejection(code: .outboxFull, message: "the outbox holds \(storedBytes) bytes of events and its cap (max_outbox_bytes) is \(maximumBytes); none of the \(events.count) events was stored, send again once delivery catches up")
            ingestOutcomes.append(events.map { _ in .rejected(rejection) })
            return
        }
        var outcomes: [OutboxWriter.Outcome] = []
        outcomes.reserveCapacity(events.count)
        // Backfill rows numbered and answered but not inserted yet: a run of consecutive
        // events, stored with multi-row inserts (OutboxStore.insertBackfill) before anything
        // else touches the table (a forget's purge must see them) and at the end.
        var run = 0..<0
        var runFirstSeq: Int64 = 0
        func insertRun() throws(SQLiteError) {
            guard !run.isEmpty else { return }
            try store.insertBackfill(events, rows: run, firstSeq: runFirstSeq, receivedAt: receivedAt)
            run = 0..<0
        }
        // By index: each event is borrowed from the array, not copied.
        for index in events.indices {
            var purgedRows: Int?
            if events[index].kind == .forget, let userID = events[index].userID {
                try insertRun()
                // A forget is never refused for space: it frees space, and erasure must not wait.
                let result = try store.purge(userID: userID)
                storedBytes -= result.bytes
                queuedEvents -= Int64(result.queued)
                purgedRows = result.queued
                purged = purged || result.queued + result.deadLetters > 0
                forgets.append((events[index].eventID, result.queued, result.deadLetters))
            } else if storedBytes + Int64(events[index].body.count) > maximumBytes {
                try insertRun()
                refusedForCap = true
                outcomes.append(.rejected(IngestRejection(code: .outboxFull, message: "the outbox holds \(storedBytes) bytes of events and its cap (max_outbox_bytes) is \(maximumBytes); nothing was stored, send again once delivery catches up")))
                continue
            }
            let seq: Int64
            if lane == .backfill && events[index].kind != .forget {
                backfillSeq += 1
                seq = backfillSeq
                if run.isEmpty {
                    run = index..<(index + 1)
                    runFirstSeq = seq
                } else {
                    run = run.lowerBound..<(index + 1)
                }
            } else {
                try insertRun()
                seq = try store.insert(events[index], receivedAt: receivedAt)
                lastSeq = seq
            }
            inserted += 1
            storedBytes += Int64(events[index].body.count)
            queuedEvents += 1
            outcomes.append(.stored(seq: seq, purged: purgedRows))
        }
        try insertRun()
        ingestOutcomes.append(outcomes)
    }

    /// Counts what a settlement (``OutboxWriter``'s `apply`) removed from the queue.
    mutating func record(_ result: SettlementResult) {
        storedBytes -= result.freedBytes
        queuedEvents -= Int64(result.deliveredRows + result.deadLettered)
        settlementResults.append(result)
    }
}
