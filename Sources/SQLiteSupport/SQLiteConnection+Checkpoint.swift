import CSQLite

/// How far a WAL checkpoint goes (`sqlite3_wal_checkpoint_v2`'s modes).
public enum WALCheckpointMode: Sendable {
    /// Copy what can be copied without waiting for anyone.
    case passive
    /// Copy every frame, then start the WAL over and truncate it to zero bytes, so that no old
    /// frame (deleted data included) is left in the file.
    case truncate

    var rawValue: Int32 {
        switch self {
        case .passive: SQLITE_CHECKPOINT_PASSIVE
        case .truncate: SQLITE_CHECKPOINT_TRUNCATE
        }
    }
}

/// What a WAL checkpoint did.
///
/// `PRAGMA wal_checkpoint` reports the same three numbers as a result row, which is easy to
/// drop; this type makes the caller look at `completed`.
public struct WALCheckpointResult: Sendable, Equatable {
    /// False when another connection kept the checkpoint from finishing (`SQLITE_BUSY`).
    public var completed: Bool
    /// Frames in the WAL, or -1 when the checkpoint could not start (another one was running).
    public var logFrames: Int32
    /// Frames copied into the database file, or -1 as above.
    public var checkpointedFrames: Int32

    /// Why a checkpoint that did not complete was blocked, for an operator's log line.
    public var blockedReason: String? {
        guard !completed else { return nil }
        if logFrames < 0 { return "another connection was checkpointing the database" }
        if checkpointedFrames < logFrames {
            return "a reader holds a snapshot older than the last commit (a status command, a backup or another query), so \(logFrames - checkpointedFrames) of \(logFrames) WAL frames cannot be copied yet"
        }
        return "every WAL frame is copied, but a reader is still reading from the WAL (or another connection is writing), so it cannot be truncated yet"
    }
}

extension SQLiteConnection {
    /// Runs a WAL checkpoint that never waits for another connection.
    ///
    /// `PRAGMA wal_checkpoint(TRUNCATE)` waits out the busy timeout for readers and holds the
    /// write lock meanwhile, so every other write (the daemon's acks) stalls behind it. Here the
    /// busy handler is off for the call: a blocked checkpoint copies what it can, returns at
    /// once with ``WALCheckpointResult/completed`` false, and the caller retries later.
    public func walCheckpointWithoutWaiting(_ mode: WALCheckpointMode) throws(SQLiteError) -> WALCheckpointResult {
        let db = try requireHandle("wal_checkpoint")
        let timeout = busyTimeoutMilliseconds
        sqlite3_busy_timeout(db, 0)
        defer { sqlite3_busy_timeout(db, timeout) }
        var logFrames: Int32 = -1
        var checkpointedFrames: Int32 = -1
        let rc = sqlite3_wal_checkpoint_v2(db, nil, mode.rawValue, &logFrames, &checkpointedFrames)
        switch rc & 0xFF {
        case SQLITE_OK:
            return WALCheckpointResult(completed: true, logFrames: logFrames, checkpointedFrames: checkpointedFrames)
        case SQLITE_BUSY, SQLITE_LOCKED:
            return WALCheckpointResult(completed: false, logFrames: logFrames, checkpointedFrames: checkpointedFrames)
        default:
            throw error(rc, "wal_checkpoint")
        }
    }
}
