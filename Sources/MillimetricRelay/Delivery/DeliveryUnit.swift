/// What one request carries: a run of track rows for `/v1/batch`, or one identify or forget.
struct DeliveryUnit: Sendable {
    var rows: ArraySlice<QueuedRow>
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

    var body: [UInt8] {
        kind == .track ? BatchBody.assemble(rows) : rows.first!.body
    }

    /// The two halves of a batch the API refused (SPEC §6): retried separately until the
    /// refused events stand alone.
    func split() -> (DeliveryUnit, DeliveryUnit) {
        let middle = rows.startIndex + rows.count / 2
        return (DeliveryUnit(rows[rows.startIndex..<middle]), DeliveryUnit(rows[middle...]))
    }
}
