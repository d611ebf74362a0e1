import FoundationEssentials
import SQLiteSupport

/// The drainer's read-only connection to the outbox, and the order in which its lanes are sent.
///
/// A separate connection from the writer's: in WAL mode readers never block the writer, so
/// reading the next batch never delays an ack. Each lane (``OutboxLane``) is read in `seq`
/// order after its own cursor; since `seq` only grows within a lane, a cursor never skips a row
/// committed later.
///
/// Lane policy (issue 16): live rows go first whenever they are ready to send. Backfill rows
/// fill the rest: they are handed out when the live lane is empty, or while its run is still
/// gathering (neither full nor `flush_interval` old), so a live trickle never holds a backfill
/// back for long and a backfill never sits in front of a live event. A live batch that goes
/// while backfill is queued is topped up with backfill rows to the batch limits, after its live
/// rows: a trickle of live events would otherwise spend one of the key's few requests a second
/// on a nearly empty batch.
final class OutboxReader {
    private let connection: SQLiteConnection
    private let nextLive: SQLiteStatement
    private let nextBackfill: SQLiteStatement
    private let queuedInRange: SQLiteStatement
    private let flushInterval: Duration

    init(path: String, flushInterval: Duration = .seconds(1)) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path, mode: .readOnly)
        try connection.setBusyTimeout(milliseconds: 5_000)
        // Reads go forward by seq over rows just written; 512 KiB holds the B-tree's interior
        // pages between batches (SQLite's default is 2 MiB per connection).
        try connection.execute("PRAGMA cache_size = -512")
        nextLive = try connection.prepare(
            "SELECT seq, kind, event_id, user_id, body, received_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
        nextBackfill = try connection.prepare(
            "SELECT seq, kind, event_id, user_id, body, received_at FROM events WHERE seq > ? AND seq < 0 ORDER BY seq LIMIT ?")
        queuedInRange = try connection.prepare("SELECT seq FROM events WHERE seq BETWEEN ? AND ?")
        self.flushInterval = flushInterval
    }

    /// The sequence numbers in `range` still in the queue: a unit read earlier and waiting for a
    /// retry may have lost rows to a forget since (SPEC §7), and those must not be sent.
    /// A unit topped up with backfill rows spans one range per lane (``DeliveryUnit/seqRanges``).
    func queuedSeqs(in ranges: [ClosedRange<Int64>]) throws(SQLiteError) -> Set<Int64> {
        var seqs = Set<Int64>()
        for range in ranges {
            defer { queuedInRange.clearBindings() }
            try queuedInRange.bind(range.lowerBound, at: 1)
            try queuedInRange.bind(range.upperBound, at: 2)
            while try queuedInRange.step() { seqs.insert(queuedInRange.int64(at: 0)) }
        }
        return seqs
    }

    /// The next unit to send, after `cursor`: a run of track rows that fits one batch
    /// (`maximumEvents`, `maximumBodyBytes` for the whole `{"events":[…]}` body), or a single
    /// identify or forget; from the live lane if it has one ready, else from the backfill lane
    /// (see the type's note). `closed` tells whether the run cannot grow any more (a limit or a
    /// non-track row ended it), so there is no point waiting for `flush_interval`; a backfill
    /// unit is always closed, since backfill rows wait for nothing but the rate limits. A live
    /// track run that goes is topped up with backfill track rows up to the same limits (live
    /// rows first), and is then closed too.
    func nextUnit(
        after cursor: OutboxCursor, maximumEvents: Int, maximumBodyBytes: Int, now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    ) throws(SQLiteError) -> (rows: [QueuedRow], closed: Bool) {
        let live = try run(nextLive, after: cursor.live, maximumEvents: maximumEvents, maximumBodyBytes: maximumBodyBytes)
        if let first = live.rows.first {
            let due = first.receivedAt + Int64(flushInterval.timeInterval * 1000) <= now
            if live.closed || due {
                guard first.kind == .track, live.rows.count < maximumEvents else { return live }
                let topUp = try run(
                    nextBackfill, after: cursor.backfill, maximumEvents: maximumEvents, maximumBodyBytes: maximumBodyBytes, appendingTo: live.rows)
                return topUp.rows.isEmpty ? live : (live.rows + topUp.rows, true)
            }
        }
        let backfill = try run(nextBackfill, after: cursor.backfill, maximumEvents: maximumEvents, maximumBodyBytes: maximumBodyBytes)
        if !backfill.rows.isEmpty { return (backfill.rows, true) }
        return live
    }

    /// One lane's next run; with `existing` rows (a live run being topped up), only the track
    /// rows that fit in the same batch after them.
    private func run(
        _ next: SQLiteStatement, after cursor: Int64, maximumEvents: Int, maximumBodyBytes: Int, appendingTo existing: [QueuedRow] = []
    ) throws(SQLiteError) -> (rows: [QueuedRow], closed: Bool) {
        defer { next.clearBindings() }
        let room = maximumEvents - existing.count
        guard room > 0 else { return ([], true) }
        try next.bind(cursor, at: 1)
        try next.bind(room, at: 2)
        var rows: [QueuedRow] = []
        var bodyBytes = existing.reduce(BatchBody.framingBytes) { $0 + $1.body.count } + max(0, existing.count - 1)
        while try next.step() {
            let kind = EventKind(rawValue: Int(next.int64(at: 1))) ?? .track
            if kind != .track {
                if rows.isEmpty && existing.isEmpty { rows.append(row(next, kind: kind)) }
                return (rows, true)
            }
            let candidate = row(next, kind: kind)
            let first = rows.isEmpty && existing.isEmpty
            let added = candidate.body.count + (first ? 0 : 1)
            if !first && bodyBytes + added > maximumBodyBytes { return (rows, true) }
            bodyBytes += added
            rows.append(candidate)
        }
        return (rows, rows.count >= room)
    }

    private func row(_ next: SQLiteStatement, kind: EventKind) -> QueuedRow {
        QueuedRow(
            seq: next.int64(at: 0), kind: kind, eventID: next.text(at: 2) ?? "", userID: next.text(at: 3),
            body: next.bytes(at: 4) ?? [], receivedAt: next.int64(at: 5))
    }

    func close() {
        try? connection.close()
    }
}

/// The `/v1/batch` body, assembled from the stored JSON without re-encoding it.
enum BatchBody {
    /// `{"events":[` and `]}`.
    static let framingBytes = 13

    static func assemble(_ rows: ArraySlice<QueuedRow>) -> [UInt8] {
        var rowRanges: [Range<Int>] = []
        return assemble(rows, rowRanges: &rowRanges)
    }

    /// Also tells where each row's JSON sits in the body (``DeliveryUnit`` keeps those instead
    /// of the rows' own bodies).
    static func assemble(_ rows: ArraySlice<QueuedRow>, rowRanges: inout [Range<Int>]) -> [UInt8] {
        var body = [UInt8]()
        body.reserveCapacity(rows.reduce(framingBytes) { $0 + $1.body.count + 1 })
        rowRanges.removeAll(keepingCapacity: true)
        rowRanges.reserveCapacity(rows.count)
        body.append(contentsOf: #"{"events":["#.utf8)
        for (index, row) in rows.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            let start = body.count
            body.append(contentsOf: row.body)
            rowRanges.append(start..<body.count)
        }
        body.append(contentsOf: "]}".utf8)
        return body
    }
}
