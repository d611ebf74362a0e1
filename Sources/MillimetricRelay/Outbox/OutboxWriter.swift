import Dispatch
import FoundationEssentials
import Glibc
import Logging
import SQLiteSupport
import Synchronization

/// The single writer of the outbox: a dedicated thread that commits what every connection and
/// the drainer hand it, in group commits.
///
/// Why a thread of its own: each commit waits for an fsync, which must never stall an event loop
/// or Swift's shared executor (STYLE §3). Why group commit: lines that arrive together, from all
/// connections, share one transaction and one fsync; while one commit waits for the disk, the
/// next group gathers. Each completion runs after its transaction committed, never before, and
/// that is what makes an ack mean "on disk".
public final class OutboxWriter: Sendable {
    /// What became of one event handed to ``submit(_:receivedAt:completion:)``.
    public enum Outcome: Sendable, Equatable {
        /// Committed. For a forget, `purged` counts the queued rows it removed.
        case stored(seq: Int64, purged: Int?)
        case rejected(IngestRejection)
    }

    /// What the outbox holds, after the last commit.
    public struct Snapshot: Sendable, Equatable {
        public var queuedEvents: Int64
        /// Bytes of stored event JSON, queued and dead-lettered: what the cap counts.
        public var storedBytes: Int64
        public var oldestReceivedAt: Int64?
        /// The last live `seq` (backfill rows are numbered apart, below zero: ``OutboxLane``).
        public var lastSeq: Int64
        /// Group commits since start, and the event rows they inserted: their ratio is the
        /// average transaction size, which the benchmark compares against bare SQLite.
        public var commits: Int64
        public var insertedRows: Int64 = 0
    }

    enum Operation {
        case ingest([ValidatedEvent], receivedAt: Int64, allOrNothing: Bool, lane: OutboxLane, completion: @Sendable ([Outcome]) -> Void)
        case settle(Settlement, completion: @Sendable (Result<SettlementResult, OutboxError>) -> Void)
        case setState([(String, DeliveryStateValue)])
    }

    private struct Queue: ~Copyable {
        var operations: [Operation] = []
        var writerIsWaiting = false
        var closing = false
    }

    private let queue = Mutex(Queue())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let snapshotState: Mutex<Snapshot>
    private let maximumBytes: Int64
    /// ``OutboxTestHooks/releasesAcksBeforeCommit``: false except under the power-cut driver.
    private let releasesAcksBeforeCommit: Bool
    private let logger: Logger
    private let metrics: RelayMetrics?
    private let onCommit: @Sendable (Int64) -> Void
    /// Set by the writer thread each time it completes a cycle; the watchdog checks it moves.
    private let heartbeat = Atomic<Int64>(0)
    /// Whether the last group refused events for the cap, so "outbox full" is logged once per
    /// episode, not once per refused line.
    private let refusingForCap = Atomic<Bool>(false)
    /// Touched by the writer thread only (in `apply`); a lock it alone takes costs nothing.
    private let rateMeter = Mutex(DeliveryRateMeter())

    /// The most event rows one group commit inserts.
    static let maximumRowsPerCommit = 8_192

    /// Opens the outbox at `path` and starts the writer thread.
    ///
    /// - Parameters:
    ///   - maximumBytes: the cap on stored event JSON (`max_outbox_bytes`).
    ///   - metrics: where blocked WAL checkpoints are counted.
    ///   - onCommit: called on the writer thread with the last live sequence number after each
    ///     commit that added rows, so the drainer can wake up. (A commit of backfill rows alone
    ///     leaves that number as it was; the drainer looks for them at least once a second.)
    public convenience init(
        path: String, synchronous: SynchronousMode, maximumBytes: Int64, logger: Logger, metrics: RelayMetrics? = nil,
        onCommit: @escaping @Sendable (Int64) -> Void = { _ in }
    ) throws(OutboxError) {
        try self.init(
            path: path, synchronous: synchronous, maximumBytes: maximumBytes, logger: logger, metrics: metrics,
            testHooks: OutboxTestHooks(), onCommit: onCommit)
    }

    /// The same, with switches only test drivers set (``OutboxTestHooks``).
    @_spi(Testing) public init(
        path: String, synchronous: SynchronousMode, maximumBytes: Int64, logger: Logger, metrics: RelayMetrics? = nil,
        testHooks: OutboxTestHooks, onCommit: @escaping @Sendable (Int64) -> Void = { _ in }
    ) throws(OutboxError) {
        let store = try OutboxStore(path: path, synchronous: synchronous, testHooks: testHooks)
        let totals: (events: Int64, bytes: Int64, lastSeq: Int64)
        let oldest: Int64?
        var checkpoint = PurgeCheckpoint()
        let lastBackfillSeq: Int64
        do {
            totals = try store.totals()
            lastBackfillSeq = try store.lastBackfillSeq()
            oldest = try store.oldestReceivedAt()
            // A checkpoint still owed when the last daemon stopped (or recorded by
            // `dead-letters purge` while none ran) is owed now.
            if try store.purgeCheckpointPendingSince() != nil {
                checkpoint.owe()
                checkpoint.isRecorded = true
            }
        } catch {
            throw .sqlite(error)
        }
        self.snapshotState = Mutex(Snapshot(queuedEvents: totals.events, storedBytes: totals.bytes, oldestReceivedAt: oldest, lastSeq: totals.lastSeq, commits: 0))
        self.maximumBytes = maximumBytes
        self.releasesAcksBeforeCommit = testHooks.releasesAcksBeforeCommit
        self.logger = logger
        self.metrics = metrics
        self.onCommit = onCommit
        let initialCheckpoint = checkpoint
        // The store moves to the writer thread and is never touched from this one again.
        let holder = UnsafeTransfer(StoreHolder(store))
        DetachedThread.start(name: "outbox-writer") { [self] in
            self.run(store: holder.value.store!, checkpoint: initialCheckpoint, lastBackfillSeq: lastBackfillSeq)
            // The last reference: statements are finalized, then the connection closes, which
            // checkpoints the WAL and removes it — a clean close.
            holder.value.store = nil
            self.logger.debug("outbox closed")
            self.finished.signal()
        }
    }

    /// What the outbox holds now.
    public var snapshot: Snapshot { snapshotState.withLock { $0 } }

    /// Increases each time the writer finishes a cycle or finds nothing to do.
    var heartbeatValue: Int64 { heartbeat.load(ordering: .relaxed) }

    /// Hands events to the writer; `completion` runs on the writer thread once they are
    /// committed (or refused), with one outcome per event, in order. `lane` is where they wait
    /// for delivery (``OutboxLane``); a forget always goes to the live lane, since erasure must
    /// not wait behind a backfill.
    public func submit(_ events: [ValidatedEvent], receivedAt: Int64, lane: OutboxLane = .live, completion: @escaping @Sendable ([Outcome]) -> Void) {
        if !enqueue(.ingest(events, receivedAt: receivedAt, allOrNothing: false, lane: lane, completion: completion)) {
            completion(events.map { _ in .rejected(IngestRejection(code: .shuttingDown, message: "the relay is stopping; nothing was stored, send again later")) })
        }
    }

    /// Like ``submit(_:receivedAt:completion:)``, but all or nothing: either every event is
    /// committed or none is, so that a refused HTTP `/v1/batch` leaves nothing behind.
    /// (Only the byte cap can refuse a single event inside a commit; it is checked for the sum.)
    public func submitAllOrNothing(_ events: [ValidatedEvent], receivedAt: Int64, completion: @escaping @Sendable ([Outcome]) -> Void) {
        if !enqueue(.ingest(events, receivedAt: receivedAt, allOrNothing: true, lane: .live, completion: completion)) {
            completion(events.map { _ in .rejected(IngestRejection(code: .shuttingDown, message: "the relay is stopping; nothing was stored, send again later")) })
        }
    }

    /// Whether new events can still be handed in (false once ``close()`` began): `/healthz`.
    public var isOpen: Bool { queue.withLock { !$0.closing } }

    /// Records delivery results (SPEC §6); `completion` runs on the writer thread after commit.
    func settle(_ settlement: Settlement, completion: @escaping @Sendable (Result<SettlementResult, OutboxError>) -> Void) {
        if !enqueue(.settle(settlement, completion: completion)) {
            completion(.failure(.closed))
        }
    }

    /// Settles the rows in `ranges` as delivered, as the drainer does after a 2xx; `completion`
    /// runs on the writer thread with whether it committed. For the power-cut driver, which
    /// cannot reach the internal ``Settlement``.
    @_spi(Testing) public func settleDelivered(_ ranges: [ClosedRange<Int64>], completion: @escaping @Sendable (Bool) -> Void) {
        settle(Settlement(delivered: ranges)) { result in
            if case .success = result { completion(true) } else { completion(false) }
        }
    }

    /// Records delivery state values for `status` (upstream state, last error).
    func setState(_ values: [(String, DeliveryStateValue)]) {
        _ = enqueue(.setState(values))
    }

    private func enqueue(_ operation: Operation) -> Bool {
        let (accepted, wake) = queue.withLock { queue -> (Bool, Bool) in
            if queue.closing { return (false, false) }
            queue.operations.append(operation)
            if queue.writerIsWaiting {
                queue.writerIsWaiting = false
                return (true, true)
            }
            return (true, false)
        }
        if wake { wakeUp.signal() }
        return accepted
    }

    /// Commits everything already handed in, then stops the thread and closes the database.
    /// Later submissions are refused with `shutting_down`.
    public func close() {
        let wake = queue.withLock { queue -> Bool in
            guard !queue.closing else { return false }
            queue.closing = true
            if queue.writerIsWaiting {
                queue.writerIsWaiting = false
                return true
            }
            return false
        }
        if wake { wakeUp.signal() }
        finished.wait()
        finished.signal()  // let any other caller of close() through too
    }

    // MARK: - The writer thread

    private func run(store: OutboxStore, checkpoint initialCheckpoint: PurgeCheckpoint, lastBackfillSeq: Int64) {
        var checkpoint = initialCheckpoint
        // The backfill lane's numbering (OutboxLane): handed out here, in commit order. A group
        // rolled back leaves a gap, which is harmless: only the order matters.
        var backfillSeq = lastBackfillSeq
        var dataVersion = (try? store.dataVersion()) ?? 0
        while true {
            let (operations, exit) = queue.withLock { queue -> ([Operation], Bool) in
                if queue.operations.isEmpty {
                    if queue.closing { return ([], true) }
                    queue.writerIsWaiting = true
                    return ([], false)
                }
                // One transaction takes at most `maximumRowsPerCommit` events (and at least one
                // operation): bigger ones only add latency and memory, not throughput.
                var rows = 0
                var count = 0
                for operation in queue.operations {
                    if case .ingest(let events, _, _, _, _) = operation {
                        if count > 0 && rows + events.count > Self.maximumRowsPerCommit { break }
                        rows += events.count
                    }
                    count += 1
                }
                let taken = Array(queue.operations[..<count])
                queue.operations.removeFirst(count)
                return (taken, false)
            }
            heartbeat.add(1, ordering: .relaxed)
            if exit {
                writeTally(store: store)
                break
            }
            if operations.isEmpty {
                // Counts for `status` that no commit carried (refusals only, say).
                writeTally(store: store)
                // Wake at least every second so the heartbeat shows the thread is alive, and in
                // time for an owed checkpoint.
                let wait = checkpoint.idleWait(atMost: .seconds(1), now: .now)
                _ = wakeUp.wait(timeout: .now() + wait.timeInterval)
                queue.withLock { $0.writerIsWaiting = false }
            } else {
                process(operations, store: store, checkpoint: &checkpoint, backfillSeq: &backfillSeq)
            }
            followOtherConnections(store: store, dataVersion: &dataVersion, checkpoint: &checkpoint)
            if checkpoint.isDue(at: .now) { attemptCheckpoint(store: store, checkpoint: &checkpoint) }
        }
        store.rollback()
    }

    /// `dead-letters retry|purge` change the tables from another process. Every cycle (after
    /// each group commit, and at least once a second while idle) the writer asks SQLite whether
    /// another connection committed; if so it recounts, so the cap frees space within a second
    /// even under steady load, and takes over a checkpoint that command could not finish.
    private func followOtherConnections(store: OutboxStore, dataVersion: inout Int64, checkpoint: inout PurgeCheckpoint) {
        guard let version = try? store.dataVersion(), version != dataVersion else { return }
        dataVersion = version
        guard let totals = try? store.totals() else { return }
        let oldest = (try? store.oldestReceivedAt()) ?? nil
        let lastSeq = snapshotState.withLock { snapshot -> Int64 in
            snapshot.queuedEvents = totals.events
            snapshot.storedBytes = totals.bytes
            snapshot.oldestReceivedAt = oldest
            snapshot.lastSeq = max(snapshot.lastSeq, totals.lastSeq)
            return snapshot.lastSeq
        }
        logger.debug("another connection changed the outbox; totals recounted", metadata: [
            "outbox.events": "\(totals.events)", "outbox.bytes": "\(totals.bytes)",
        ])
        // Rows `dead-letters retry` queued again: let the drainer know at once.
        onCommit(lastSeq)
        if (try? store.purgeCheckpointPendingSince()) != nil {
            checkpoint.isRecorded = true
            if !checkpoint.isOwed { checkpoint.owe() }
        }
    }

    /// One attempt at the checkpoint a purge owes; never waits for a reader (acks wait behind
    /// the writer). Blocked: counted, logged once per episode with the reason, recorded for
    /// `status`, and retried every second by the loop above until it completes.
    private func attemptCheckpoint(store: OutboxStore, checkpoint: inout PurgeCheckpoint) {
        let now = ContinuousClock.now
        let result: WALCheckpointResult
        do {
            result = try store.checkpointTruncate()
        } catch {
            if checkpoint.blocked(at: now) {
                logger.warning("WAL checkpoint after a purge failed; the purged data stays in the WAL until it completes; retrying every second", metadata: ["sqlite.error": "\(error)"])
            }
            recordPending(store: store, checkpoint: &checkpoint)
            return
        }
        if result.completed {
            if let waited = checkpoint.completed(at: now) {
                logger.notice("WAL checkpoint after a purge completed; the purged data is gone from disk", metadata: [
                    "outbox.checkpoint_blocked_ms": "\(Int(waited.timeInterval * 1000))",
                ])
            }
            if checkpoint.isRecorded {
                do {
                    try store.recordPurgeCheckpointPending(since: nil)
                    checkpoint.isRecorded = false
                } catch {
                    logger.warning("could not clear the pending-checkpoint mark for status", metadata: ["sqlite.error": "\(error)"])
                }
            }
            return
        }
        metrics?.walCheckpointsBlocked.increment()
        if checkpoint.blocked(at: now) {
            logger.warning("WAL checkpoint after a purge is blocked; the purged data stays in the WAL until it completes; retrying every second without holding up ingest", metadata: [
                "outbox.checkpoint_blocked_by": "\(result.blockedReason ?? "?")",
                "outbox.wal_frames": "\(result.logFrames)", "outbox.wal_frames_copied": "\(result.checkpointedFrames)",
            ])
        }
        recordPending(store: store, checkpoint: &checkpoint)
    }

    private func recordPending(store: OutboxStore, checkpoint: inout PurgeCheckpoint) {
        guard !checkpoint.isRecorded else { return }
        do {
            try store.recordPurgeCheckpointPending(since: Int64(Date().timeIntervalSince1970 * 1000))
            checkpoint.isRecorded = true
        } catch {
            logger.warning("could not record the pending checkpoint for status", metadata: ["sqlite.error": "\(error)"])
        }
    }

    /// One group commit. On failure the whole group is rolled back and every operation in it is
    /// answered with the error: no completion ever claims a write that did not commit.
    private func process(_ operations: [Operation], store: OutboxStore, checkpoint: inout PurgeCheckpoint, backfillSeq: inout Int64) {
        var group = GroupCommit(startingFrom: snapshot, maximumBytes: maximumBytes)
        var acksReleased = false
        let tally = metrics?.tally.take() ?? []
        do throws(SQLiteError) {
            try store.begin()
            for (key, count) in tally { try store.increment(key, by: count) }
            for operation in operations {
                switch operation {
                case .ingest(let events, let receivedAt, let allOrNothing, let lane, _):
                    try group.ingest(events, receivedAt: receivedAt, allOrNothing: allOrNothing, lane: lane, store: store, backfillSeq: &backfillSeq)
                case .settle(let settlement, _):
                    group.record(try apply(settlement, store: store, now: Int64(Date().timeIntervalSince1970 * 1000)))
                case .setState(let values):
                    for (key, value) in values { try store.setState(key, value) }
                }
            }
            if releasesAcksBeforeCommit {
                // Deliberately wrong, for the power-cut driver only: the acks leave before the
                // commit (and its fsync) has happened.
                complete(operations, group: group)
                acksReleased = true
            }
            try store.commit()
        } catch {
            store.rollback()
            metrics?.tally.restore(tally)
            if !acksReleased { fail(operations, with: error) }
            return
        }
        publish(group, store: store)
        if group.purged {
            // Before the acks, so an ack means the data is gone from disk too, unless a reader
            // blocks the checkpoint: then the acks go out at once and the loop retries it.
            checkpoint.owe()
            attemptCheckpoint(store: store, checkpoint: &checkpoint)
        }
        if !acksReleased {
            complete(operations, group: group)
        }
        if group.inserted > 0 { onCommit(group.lastSeq) }
    }

    /// After the commit: the new totals for ``snapshot`` and the log lines an operator looks for.
    private func publish(_ group: GroupCommit, store: OutboxStore) {
        let oldest = (try? store.oldestReceivedAt()) ?? nil
        snapshotState.withLock {
            $0.storedBytes = group.storedBytes
            $0.queuedEvents = group.queuedEvents
            $0.lastSeq = group.lastSeq
            $0.oldestReceivedAt = oldest
            $0.commits += 1
            $0.insertedRows += group.inserted
        }
        logCommitted(forgets: group.forgets, refusedForCap: group.refusedForCap, inserted: group.inserted, storedBytes: group.storedBytes)
    }

    /// Writes the pending ingest counts (``IngestTally``) in a transaction of their own; kept for
    /// the next attempt if it fails.
    private func writeTally(store: OutboxStore) {
        guard let tally = metrics?.tally.take(), !tally.isEmpty else { return }
        do throws(SQLiteError) {
            try store.begin()
            for (key, count) in tally { try store.increment(key, by: count) }
            try store.commit()
        } catch {
            store.rollback()
            metrics?.tally.restore(tally)
        }
    }

    /// Runs each operation's completion with what its part of the group commit did.
    private func complete(_ operations: [Operation], group: GroupCommit) {
        let ingestOutcomes = group.ingestOutcomes
        let settlementResults = group.settlementResults
        var ingestIndex = 0
        var settleIndex = 0
        for operation in operations {
            switch operation {
            case .ingest(_, _, _, _, let completion):
                completion(ingestOutcomes[ingestIndex])
                ingestIndex += 1
            case .settle(_, let completion):
                completion(.success(settlementResults[settleIndex]))
                settleIndex += 1
            case .setState:
                break
            }
        }
    }

    private func apply(_ settlement: Settlement, store: OutboxStore, now: Int64) throws(SQLiteError) -> SettlementResult {
        var result = SettlementResult()
        for range in settlement.delivered {
            let (rows, bytes) = try store.delete(range)
            result.deliveredRows += rows
            result.freedBytes += bytes
        }
        for letter in settlement.deadLetters {
            if try store.deadLetter(seq: letter.seq, status: letter.status, response: letter.response, at: now) {
                result.deadLettered += 1
                // The bytes stay counted: dead letters are part of the cap (SPEC §3).
            }
        }
        try store.increment("delivered_total", by: Int64(result.deliveredRows))
        try store.increment("dead_lettered_total", by: Int64(result.deadLettered))
        if result.deliveredRows > 0 {
            try store.setState("last_success_at", .integer(now))
            let rate = rateMeter.withLock { $0.record(result.deliveredRows, now: now) }
            for (key, value) in rate { try store.setState(key, value) }
        }
        for (key, value) in settlement.state { try store.setState(key, value) }
        return result
    }

    /// The few commit outcomes an operator looks for by `MESSAGE_ID`, logged once committed.
    private func logCommitted(forgets: [(eventID: String, queued: Int, deadLetters: Int)], refusedForCap: Bool, inserted: Int64, storedBytes: Int64) {
        for forget in forgets {
            // The forget's own event id, never the user id: the log must not keep what was erased.
            logger.notice("forget purged the user's queued events and dead letters", metadata: [
                "event.id": "\(forget.eventID)", "outbox.purged_events": "\(forget.queued)",
                "outbox.purged_dead_letters": "\(forget.deadLetters)", RelayMessageID.metadataKey: .messageID(RelayMessageID.forgetPurged),
            ])
        }
        if refusedForCap {
            if !refusingForCap.exchange(true, ordering: .relaxed) {
                logger.error("outbox is full (max_outbox_bytes); refusing new events until delivery frees space", metadata: [
                    "outbox.bytes": "\(storedBytes)", "outbox.max_bytes": "\(maximumBytes)",
                    RelayMessageID.metadataKey: .messageID(RelayMessageID.outboxFull),
                ])
            }
        } else if inserted > 0, refusingForCap.exchange(false, ordering: .relaxed) {
            logger.notice("outbox accepts events again", metadata: ["outbox.bytes": "\(storedBytes)"])
        }
    }

    private func fail(_ operations: [Operation], with error: SQLiteError) {
        let rejection: IngestRejection
        if error.isFull {
            rejection = IngestRejection(code: .outboxFull, message: "the disk holding the outbox is full (\(error.message)); nothing was stored, send again later")
            logger.error("outbox disk is full; refusing new events", metadata: [
                "sqlite.error": "\(error)", RelayMessageID.metadataKey: .messageID(RelayMessageID.outboxFull),
            ])
        } else {
            rejection = IngestRejection(code: .internalError, message: "the outbox could not commit (\(error.message)); nothing was stored, send again later")
            logger.error("outbox commit failed", metadata: ["sqlite.error": "\(error)"])
        }
        for operation in operations {
            switch operation {
            case .ingest(let events, _, _, _, let completion):
                completion(events.map { _ in .rejected(rejection) })
            case .settle(_, let completion):
                completion(.failure(.sqlite(error)))
            case .setState:
                break
            }
        }
    }
}

/// Owns the store until the writer thread lets it go.
final class StoreHolder {
    var store: OutboxStore?
    init(_ store: OutboxStore) { self.store = store }
}

/// Moves a non-Sendable value to another thread that becomes its only user.
///
/// Safe only under that discipline: the sender must not touch the value after handing it over.
/// The outbox uses it once, to give the freshly opened store to the writer thread.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
