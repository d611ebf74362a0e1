/// What one request carries: a run of track rows for `/v1/batch`, or one identify or forget.
///
/// Once encoded for sending (``encode()``), a unit keeps its request body and, per row, only
/// what settling, a dead letter and a retry need (seq, kind, event id, and where the row's JSON
/// sits in the body): the rows' own bodies would be a second copy of the batch for as long as it
/// is in flight or waits for its retry, 1.0 MB with 4 batches of 500 in flight under the peer
/// load (issue #11). A split or a retry that lost rows to a forget takes the rows' JSON back
/// out of the body.
struct DeliveryUnit: Sendable {
    /// The unit's rows; once encoded, without their bodies (and user ids).
    private(set) var rows: ArraySlice<QueuedRow>
    /// The request body, once encoded.
    private var encoded: [UInt8]?
    /// Where each row's JSON sits in `encoded`, row by row.
    private var rowRanges: [Range<Int>] = []
    /// Whether it went with at least another full batch queued behind it: only such a batch's
    /// success grows the send rate (#12). Set by the drainer each time it sends the unit.
    var sentBacklogged = false

    init(_ rows: ArraySlice<QueuedRow>) {
        precondition(!rows.isEmpty)
        self.rows = rows
    }

    var kind: EventKind { rows.first!.kind }
    var firstSeq: Int64 { rows.first!.seq }
    /// The `seq` ranges the rows span, one per lane: a live batch topped up with backfill rows
    /// (issue 16) holds a run of live rows, then a run of backfill rows. Within a lane the rows
    /// were read in `seq` order, so no other queued row falls inside its range.
    var seqRanges: [ClosedRange<Int64>] {
        var ranges: [ClosedRange<Int64>] = []
        var start = rows.startIndex
        for index in rows.indices.dropFirst() where OutboxLane.of(seq: rows[index].seq) != OutboxLane.of(seq: rows[start].seq) {
            ranges.append(rows[start].seq...rows[index - 1].seq)
            start = index
        }
        ranges.append(rows[start].seq...rows.last!.seq)
        return ranges
    }

    var path: String {
        switch kind {
        case .track: "/v1/batch"
        case .identify: "/v1/identify"
        case .forget: "/v1/forget"
        }
    }

    var request: UpstreamVerdict.Request {
        switch kind {
        case .track: .batch(eventCount: rows.count)
        case .identify: .identify
        case .forget: .forget
        }
    }

    /// Uses the track-class rate limit (shared by identify and forget) rather than batch's.
    var usesTrackClassLimit: Bool { kind != .track }

    /// Whether ``encode()`` has run: the rows hold no bodies then.
    var isEncoded: Bool { encoded != nil }

    /// The request body; for a unit not yet encoded, assembled anew on each call.
    var body: [UInt8] {
        if let encoded { return encoded }
        return kind == .track ? BatchBody.assemble(rows) : rows.first!.body
    }

    /// The request body, assembled once; from then on the unit holds it instead of its rows'
    /// bodies. Called when the unit is sent (not when it is read: a batch still gathering rows
    /// is read again and again).
    mutating func encode() -> [UInt8] {
        if let encoded { return encoded }
        let body: [UInt8]
        if kind == .track {
            body = BatchBody.assemble(rows, rowRanges: &rowRanges)
        } else {
            body = rows.first!.body
            rowRanges = [0..<body.count]
        }
        encoded = body
        rows = ArraySlice(rows.map { row in
            var row = row
            row.body = []
            row.userID = nil
            return row
        })
        return body
    }

    /// The rows with their bodies, taken back out of the request body if encoded.
    private var fullRows: ArraySlice<QueuedRow> {
        guard let encoded else { return rows }
        return ArraySlice(zip(rows, rowRanges).map { row, range in
            var row = row
            row.body = Array(encoded[range])
            return row
        })
    }

    /// The two halves of a batch the API refused (SPEC §6): retried separately until the
    /// refused events stand alone.
    func split() -> (DeliveryUnit, DeliveryUnit) {
        let rows = fullRows
        let middle = rows.startIndex + rows.count / 2
        return (DeliveryUnit(rows[rows.startIndex..<middle]), DeliveryUnit(rows[middle...]))
    }

    /// The unit with only the rows whose `seq` is in `seqs` (a forget purged the others while
    /// it waited for its retry, SPEC §7), or nil if none is left. Unchanged, it keeps its body.
    func keeping(_ seqs: Set<Int64>) -> DeliveryUnit? {
        if rows.allSatisfy({ seqs.contains($0.seq) }) { return self }
        let kept = fullRows.filter { seqs.contains($0.seq) }
        return kept.isEmpty ? nil : DeliveryUnit(kept[...])
    }
}
