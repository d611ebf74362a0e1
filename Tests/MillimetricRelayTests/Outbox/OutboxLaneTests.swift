import Dispatch
import Foundation
import Logging
import SQLiteSupport
import Synchronization
import Testing

@testable import MillimetricRelay

/// The outbox's two lanes (issue 16): an outbox of schema v2 migrates, backfill rows are
/// numbered apart, the reader sends live rows first, and settlement and forget see both lanes.
@Suite struct OutboxLaneTests {
    let outbox: OutboxFile

    init() throws {
        outbox = try OutboxFile("outbox-lanes")
    }

    static func store(_ lines: [String], lane: OutboxLane, receivedAt: Int64 = 1, in writer: OutboxWriter) throws -> [Int64] {
        let events = try OutboxWriterTests.events(lines)
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<[OutboxWriter.Outcome]>([])
        writer.submit(events, receivedAt: receivedAt, lane: lane) { outcomes in
            result.withLock { $0 = outcomes }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }.compactMap { outcome in
            if case .stored(let seq, _) = outcome { return seq }
            return nil
        }
    }

    @Test func anOutboxOfSchemaV2MigratesWithItsRowsInTheLiveLane() throws {
        // An outbox as the previous release left it: schema v2, two queued rows.
        do {
            let connection = try SQLiteConnection(path: outbox.path, mode: .readWriteCreate)
            try connection.execute(OutboxSchema.migrations[0])
            try connection.execute(OutboxSchema.migrations[1])
            try connection.execute("PRAGMA application_id = \(OutboxSchema.applicationID); PRAGMA user_version = 2")
            try connection.execute(
                """
                INSERT INTO events(kind, event_id, user_id, body, bytes, received_at) VALUES
                    (0, 'old-1', NULL, '{"event":"a","event_id":"old-1"}', 33, 5),
                    (0, 'old-2', NULL, '{"event":"b","event_id":"old-2"}', 33, 6);
                """)
            try connection.close()
        }
        let writer = try outbox.openWriter()
        #expect(writer.snapshot.queuedEvents == 2)
        #expect(writer.snapshot.lastSeq == 2)
        let backfill = try Self.store([#"{"event":"c"}"#, #"{"event":"d"}"#], lane: .backfill, in: writer)
        let live = try Self.store([#"{"event":"e"}"#], lane: .live, in: writer)
        writer.close()
        #expect(backfill == [OutboxLane.backfillFloor, OutboxLane.backfillFloor + 1])
        #expect(live == [3])

        let connection = try SQLiteConnection(path: outbox.path, mode: .readOnly)
        defer { try? connection.close() }
        #expect(try connection.scalarInt64("PRAGMA user_version") == OutboxSchema.currentVersion)
        #expect(OutboxSchema.currentVersion == 3)
        #expect(try connection.scalarInt64("SELECT count(*) FROM events WHERE seq > 0") == 3)
        #expect(try connection.scalarInt64("SELECT count(*) FROM events WHERE seq < 0") == 2)

        // Reopened, the writer numbers on after the last backfill row.
        let reopened = try outbox.openWriter()
        defer { reopened.close() }
        #expect(try Self.store([#"{"event":"f"}"#], lane: .backfill, in: reopened) == [OutboxLane.backfillFloor + 2])
    }

    @Test func theReaderSendsLiveRowsFirstAndBackfillFillsTheRest() throws {
        let writer = try outbox.openWriter()
        defer { writer.close() }
        let now: Int64 = 1_000_000
        let backfill = try Self.store((0..<3).map { #"{"event":"b\#($0)"}"# }, lane: .backfill, receivedAt: now - 5_000, in: writer)
        let live = try Self.store((0..<2).map { #"{"event":"l\#($0)"}"# }, lane: .live, receivedAt: now - 2_000, in: writer)
        let reader = try OutboxReader(path: outbox.path, flushInterval: .seconds(1))
        defer { reader.close() }
        var cursor = OutboxCursor()

        // Both queued, the live run due: live first, though the backfill rows are older, and
        // topped up with backfill rows to the batch limit.
        var unit = try reader.nextUnit(after: cursor, maximumEvents: 4, maximumBodyBytes: 262_144, now: now)
        #expect(unit.rows.map(\.seq) == live + backfill[0..<2])
        #expect(unit.closed)
        for range in DeliveryUnit(unit.rows[...]).seqRanges { cursor.advance(past: range.upperBound) }
        #expect(cursor.backfill == backfill[1])

        // A live run still gathering (younger than flush_interval) lets backfill go meanwhile…
        let young = try Self.store([#"{"event":"l2"}"#], lane: .live, receivedAt: now - 100, in: writer)
        unit = try reader.nextUnit(after: cursor, maximumEvents: 500, maximumBodyBytes: 262_144, now: now)
        #expect(unit.rows.map(\.seq) == [backfill[2]])
        #expect(unit.closed)
        cursor.advance(past: unit.rows.last!.seq)
        #expect(cursor.live == live.last!)
        // …and with the backfill lane empty, the gathering run is returned to wait for its flush.
        unit = try reader.nextUnit(after: cursor, maximumEvents: 500, maximumBodyBytes: 262_144, now: now)
        #expect(unit.rows.map(\.seq) == young)
        #expect(!unit.closed)
    }

    @Test func aToppedUpBatchHoldsLiveRowsFirstThenBackfillWithinTheEventAndByteLimits() throws {
        let writer = try outbox.openWriter()
        defer { writer.close() }
        let now: Int64 = 1_000_000
        // Every stored body has the same size, so the batch limits are easy to count.
        func line(_ name: String) -> String { #"{"event":"\#(name)","properties":{"pad":"\#(String(repeating: "x", count: 200))"}}"# }
        let backfill = try Self.store((0..<10).map { line("b\($0)") }, lane: .backfill, receivedAt: now - 5_000, in: writer)
        let live = try Self.store((0..<3).map { line("l\($0)") }, lane: .live, receivedAt: now - 2_000, in: writer)
        let reader = try OutboxReader(path: outbox.path, flushInterval: .seconds(1))
        defer { reader.close() }
        let sizes = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 500, maximumBodyBytes: 1 << 20, now: now).rows.map(\.body.count)
        #expect(sizes.count == 13 && Set(sizes).count == 1)
        let rowBytes = sizes[0]

        // The event limit: 3 live rows, then 4 backfill rows.
        var unit = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 7, maximumBodyBytes: 262_144, now: now)
        #expect(unit.rows.map(\.seq) == live + backfill[0..<4])
        #expect(unit.closed)
        // The byte limit: framing (13) + 6 bodies + 5 commas fit, a 7th body and comma do not.
        let sixRows = 13 + 6 * rowBytes + 5
        unit = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 500, maximumBodyBytes: sixRows + rowBytes, now: now)
        #expect(unit.rows.map(\.seq) == live + backfill[0..<3])
        #expect(BatchBody.assemble(unit.rows[...]).count == sixRows)
        unit = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 500, maximumBodyBytes: sixRows + rowBytes + 1, now: now)
        #expect(unit.rows.count == 7)
        // A live batch already full is not topped up.
        unit = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 3, maximumBodyBytes: 262_144, now: now)
        #expect(unit.rows.map(\.seq) == live)
        // The unit spans one seq range per lane, live first.
        unit = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 5, maximumBodyBytes: 262_144, now: now)
        #expect(DeliveryUnit(unit.rows[...]).seqRanges == [live[0]...live[2], backfill[0]...backfill[1]])
    }

    @Test func aMixedUnitSettlesBothLanesAndItsRetryFilterSeesAForgetOfABackfillRow() throws {
        let writer = try outbox.openWriter()
        defer { writer.close() }
        let now: Int64 = 1_000_000
        let backfill = try Self.store(
            (0..<4).map { #"{"event":"b\#($0)","user_id":"\#($0 == 1 ? "gone" : "kept")"}"# }, lane: .backfill, receivedAt: now - 5_000, in: writer)
        let live = try Self.store((0..<2).map { #"{"event":"l\#($0)","user_id":"kept"}"# }, lane: .live, receivedAt: now - 2_000, in: writer)
        let reader = try OutboxReader(path: outbox.path, flushInterval: .seconds(1))
        defer { reader.close() }
        let rows = try reader.nextUnit(after: OutboxCursor(), maximumEvents: 4, maximumBodyBytes: 262_144, now: now).rows
        let unit = DeliveryUnit(rows[...])
        #expect(rows.map(\.seq) == live + backfill[0..<2])

        // A forget of the backfill row's user while the unit waits for a retry: the filter
        // keeps the other rows of both lanes, not the purged one.
        _ = try Self.store([#"{"type":"forget","user_id":"gone"}"#], lane: .live, in: writer)
        #expect(try reader.queuedSeqs(in: unit.seqRanges) == Set(live + [backfill[0]]))

        // A 2xx settles both lanes' ranges: the unit's rows go, the rows after it stay.
        let result = try OutboxWriterTests.settle(Settlement(delivered: unit.seqRanges), in: writer)
        #expect(result.deliveredRows == 3)
        let connection = try SQLiteConnection(path: outbox.path, mode: .readOnly)
        defer { try? connection.close() }
        #expect(try connection.scalarText("SELECT group_concat(seq, ',') FROM (SELECT seq FROM events WHERE kind = 0 ORDER BY seq)") == "\(backfill[2]),\(backfill[3])")

        // A split keeps each half's rows, and ranges, in their lanes.
        let (left, right) = unit.split()
        #expect(left.seqRanges == [live[0]...live[1]])
        #expect(right.seqRanges == [backfill[0]...backfill[1]])
    }

    @Test func settlementDeletesOneLaneAndForgetPurgesBoth() throws {
        let writer = try outbox.openWriter()
        defer { writer.close() }
        let backfill = try Self.store(
            [#"{"event":"b0","user_id":"u"}"#, #"{"event":"b1","user_id":"v"}"#, #"{"event":"b2","user_id":"v"}"#], lane: .backfill, in: writer)
        let live = try Self.store([#"{"event":"l0","user_id":"u"}"#, #"{"event":"l1","user_id":"v"}"#], lane: .live, in: writer)
        // A forget on a backfill connection still goes to the live lane, and purges both lanes.
        let forget = try Self.store([#"{"type":"forget","user_id":"u"}"#], lane: .backfill, in: writer)
        #expect(forget == [live.last! + 1])
        #expect(writer.snapshot.queuedEvents == 4)

        let result = try OutboxWriterTests.settle(Settlement(delivered: [backfill[1]...backfill[2]]), in: writer)
        #expect(result.deliveredRows == 2)
        let connection = try SQLiteConnection(path: outbox.path, mode: .readOnly)
        defer { try? connection.close() }
        #expect(try connection.scalarText("SELECT group_concat(event_id_kind, ',') FROM (SELECT kind || ':' || coalesce(user_id, '-') AS event_id_kind FROM events ORDER BY seq)") == "0:v,2:u")
    }
}
