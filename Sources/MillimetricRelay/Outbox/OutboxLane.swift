/// Which queue of the outbox a row waits in: live events from producers, or backfill rows from
/// `millimetric-relay import`. The drainer sends live rows first whenever both are queued, so
/// that a long import never delays live events (issue 16).
///
/// Why the lane is the sign of `seq` rather than a column: the drainer reads each lane in `seq`
/// order after a cursor, and settles delivered rows by `seq` range. With backfill rows numbered
/// from ``backfillFloor`` upwards (all negative) and live rows from 1 upwards (AUTOINCREMENT
/// ignores negative rowids), each lane is a contiguous range of the primary key: both reads are
/// primary-key range scans, no index costs the insert path anything, and a `seq` range of one
/// lane never covers a row of the other: a batch holding rows of both (a live batch topped up
/// with backfill) settles as one range per lane (``DeliveryUnit/seqRanges``).
public enum OutboxLane: String, Sendable, Codable, CaseIterable {
    case live
    case backfill

    /// The first backfill `seq`: 2^62 rows of room below zero.
    static let backfillFloor: Int64 = -(1 << 62)

    /// The lane a stored row belongs to.
    static func of(seq: Int64) -> OutboxLane { seq < 0 ? .backfill : .live }
}
