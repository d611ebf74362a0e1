import Foundation
import SQLiteSupport
import Testing

@testable import MillimetricRelay

/// Backfill rows go in with multi-row inserts (issue 16): the outbox must hold exactly what the
/// single-row insert wrote (same rows, columns and `seq`s, in order; same outcomes, forgets and
/// cap refusals included), in far fewer statements.
@Suite struct BackfillMultiRowInsertTests {
    /// Varied lines: user ids or none, the writer's event ids and ids with escapes (their text
    /// lives outside the body), identifies and long bodies.
    static func lines(_ count: Int) -> [String] {
        (0..<count).map { i in
            switch i % 6 {
            case 0: #"{"event":"e\#(i)","user_id":"u\#(i % 7)","properties":{"n":\#(i)}}"#
            case 1: #"{"event":"e\#(i)","event_id":"id-\#(i)","anonymous_id":"a\#(i)"}"#
            case 2: #"{"type":"identify","anonymous_id":"a\#(i)","user_id":"u\#(i % 5)","traits":{"plan":"pro"}}"#
            case 3: #"{"event":"e\#(i)","event_id":"q\u0041-\#(i)","user_id":"u\u00e9\#(i)"}"#
            case 4: #"{"event":"long","anonymous_id":"x","properties":{"text":"\#(String(repeating: "abc", count: 100 + i % 50))"}}"#
            default: #"{"event":"e\#(i)","anonymous_id":"a","timestamp":"2025-06-01T12:00:00.000Z"}"#
            }
        }
    }

    struct Committed {
        var outcomes: [[OutboxWriter.Outcome]]
        var rows: [String]
        var statements: Int
    }

    /// One group commit of `events` into the backfill lane of a fresh outbox whose store takes
    /// at most `rowsPerStatement` rows per insert (1: the single-row insert, as before).
    static func commit(_ events: [ValidatedEvent], rowsPerStatement: Int, maximumBytes: Int64 = 1 << 40) throws -> Committed {
        let outbox = try OutboxFile("backfill-rows")
        var committed = Committed(outcomes: [], rows: [], statements: 0)
        do {
            let store = try OutboxStore(path: outbox.path, synchronous: .normal)
            store.maximumBackfillRowsPerStatement = rowsPerStatement
            let empty = OutboxWriter.Snapshot(queuedEvents: 0, storedBytes: 0, oldestReceivedAt: nil, lastSeq: 0, commits: 0)
            var group = GroupCommit(startingFrom: empty, maximumBytes: maximumBytes)
            var backfillSeq = OutboxLane.backfillFloor - 1
            try store.begin()
            try group.ingest(events, receivedAt: 7, allOrNothing: false, lane: .backfill, store: store, backfillSeq: &backfillSeq)
            try store.commit()
            committed.outcomes = group.ingestOutcomes
            committed.statements = store.backfillStatementsRun
            let select = try store.connection.prepare(
                "SELECT seq || '|' || kind || '|' || event_id || '|' || quote(user_id) || '|' || hex(body) || '|' || bytes || '|' || received_at FROM events ORDER BY seq")
            while try select.step() { committed.rows.append(select.text(at: 0) ?? "?") }
        }
        return committed
    }

    /// Statements the greedy split into 64, 16, 4 and 1 rows takes for a run of `rows`.
    static func statements(for rows: Int) -> Int {
        rows / 64 + rows % 64 / 16 + rows % 16 / 4 + rows % 4
    }

    @Test(arguments: [1, 63, 64, 65, 8_192])
    func aRunOfRowsIsStoredAsByOneInsertPerRowInFewerStatements(count: Int) throws {
        let events = try OutboxWriterTests.events(Self.lines(count))
        let single = try Self.commit(events, rowsPerStatement: 1)
        let multi = try Self.commit(events, rowsPerStatement: 64)
        #expect(single.rows.count == count)
        #expect(multi.rows == single.rows)
        #expect(multi.outcomes == single.outcomes)
        #expect(single.statements == count)
        #expect(multi.statements == Self.statements(for: count))
        // The seqs are the lane's, in order from its floor.
        #expect(multi.outcomes.first?.first == .stored(seq: OutboxLane.backfillFloor, purged: nil))
        #expect(multi.outcomes.first?.last == .stored(seq: OutboxLane.backfillFloor + Int64(count - 1), purged: nil))
    }

    @Test func forgetsAndCapRefusalsInsideARunGiveTheSameOutboxAndOutcomes() throws {
        var lines = Self.lines(300)
        // A forget after the rows of its user (it purges them, so they must be in first), and
        // another later; the cap refuses a stretch in the middle, until the first forget frees space.
        lines[150] = #"{"type":"forget","user_id":"u3","event_id":"f-1"}"#
        lines[250] = #"{"type":"forget","user_id":"u\u00e93","event_id":"f-2"}"#
        let events = try OutboxWriterTests.events(lines)
        let bytesBefore = events[..<120].reduce(Int64(0)) { $0 + Int64($1.body.count) }
        let single = try Self.commit(events, rowsPerStatement: 1, maximumBytes: bytesBefore)
        let multi = try Self.commit(events, rowsPerStatement: 64, maximumBytes: bytesBefore)
        let refused = single.outcomes.joined().filter { if case .rejected = $0 { true } else { false } }.count
        #expect(refused > 0)
        #expect(single.outcomes.joined().contains { if case .stored(_, let purged?) = $0 { purged > 0 } else { false } })
        #expect(multi.rows == single.rows)
        #expect(multi.outcomes == single.outcomes)
        #expect(multi.statements < single.statements)
    }

    /// A multi-row insert that fails (here a `seq` already in use) rolls the whole transaction
    /// back, as the single-row path's failure does once the writer rolls back: nothing of the
    /// group stays, and the next transaction works.
    @Test(arguments: [1, 64])
    func aFailedInsertLeavesNothingOfItsGroup(rowsPerStatement: Int) throws {
        let outbox = try OutboxFile("backfill-rows-failure")
        let store = try OutboxStore(path: outbox.path, synchronous: .normal)
        store.maximumBackfillRowsPerStatement = rowsPerStatement
        let events = try OutboxWriterTests.events(Self.lines(100))
        try store.begin()
        try store.insertBackfill(events, rows: 0..<1, firstSeq: OutboxLane.backfillFloor + 50, receivedAt: 1)
        try store.commit()

        let empty = OutboxWriter.Snapshot(queuedEvents: 0, storedBytes: 0, oldestReceivedAt: nil, lastSeq: 0, commits: 0)
        var group = GroupCommit(startingFrom: empty, maximumBytes: 1 << 40)
        var backfillSeq = OutboxLane.backfillFloor - 1
        try store.begin()
        _ = try store.insert(events[1], receivedAt: 1)
        #expect(throws: SQLiteError.self) {
            try group.ingest(events, receivedAt: 1, allOrNothing: false, lane: .backfill, store: store, backfillSeq: &backfillSeq)
        }
        store.rollback()
        #expect(!store.connection.isInTransaction)
        #expect(try store.connection.scalarInt64("SELECT count(*) FROM events") == 1)

        try store.begin()
        try store.insertBackfill(events, rows: 0..<100, firstSeq: OutboxLane.backfillFloor + 51, receivedAt: 1)
        try store.commit()
        #expect(try store.connection.scalarInt64("SELECT count(*) FROM events") == 101)
    }
}
