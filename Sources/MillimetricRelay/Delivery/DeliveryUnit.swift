/// What one request carries: a run of track rows for `/v1/batch`, or one identify or forget.
struct DeliveryUnit: Sendable {
    var rows: ArraySlice<QueuedRow>

    init(_ rows: ArraySlice<QueuedRow>) {
        precondition(!rows.isEmpty)
        self.rows = rows
    }

    var kind: EventKind { rows.first!.kind }
    var firstSeq: Int64 { rows.first!.seq }
    var seqRange: ClosedRange<Int64> { rows.first!.seq...rows.last!.seq }

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
