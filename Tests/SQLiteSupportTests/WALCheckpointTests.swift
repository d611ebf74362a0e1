import Foundation
import SQLiteSupport
import Testing

/// `walCheckpointWithoutWaiting`: a reader blocks a truncating checkpoint; the writer must learn
/// that at once (not after its busy timeout) and succeed once the reader is gone.
@Suite struct WALCheckpointTests {
    @Test func aReaderBlocksTheCheckpointWhichReturnsAtOnceAndCompletesOnceTheReaderIsGone() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString).db").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let writer = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try writer.setBusyTimeout(milliseconds: 5_000)
        #expect(try writer.scalarText("PRAGMA journal_mode = WAL") == "wal")
        try writer.execute("CREATE TABLE t(body TEXT); INSERT INTO t VALUES ('first')")

        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        try reader.execute("BEGIN")
        #expect(try reader.scalarInt64("SELECT count(*) FROM t") == 1)  // holds this snapshot
        try writer.execute("INSERT INTO t VALUES ('second')")

        let start = ContinuousClock.now
        let blocked = try writer.walCheckpointWithoutWaiting(.truncate)
        #expect(ContinuousClock.now - start < .seconds(2), "the checkpoint waited for the reader")
        #expect(!blocked.completed)
        #expect(blocked.logFrames > blocked.checkpointedFrames)
        #expect(blocked.blockedReason?.contains("snapshot") == true)
        // The busy timeout is back for everything else.
        #expect(writer.busyTimeoutMilliseconds == 5_000)

        try reader.execute("COMMIT")
        try reader.close()
        let done = try writer.walCheckpointWithoutWaiting(.truncate)
        #expect(done.completed)
        #expect(done.blockedReason == nil)
        let walSize = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
        #expect(walSize == 0)
        try writer.close()
    }

    /// The checkpoint puts back the timeout that was in effect, also one set by SQL rather than
    /// through the wrapper (the outbox's test hook does that): restoring a remembered value
    /// instead once cut a test's two-minute wait back to the daemon's 5 s.
    @Test func theCheckpointPutsBackATimeoutSetBySQL() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString).db").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
        defer { try? connection.close() }
        try connection.setBusyTimeout(milliseconds: 5_000)
        #expect(try connection.scalarText("PRAGMA journal_mode = WAL") == "wal")
        try connection.execute("PRAGMA busy_timeout = 120000")
        #expect(connection.busyTimeoutMilliseconds == 120_000)
        _ = try connection.walCheckpointWithoutWaiting(.truncate)
        #expect(try connection.scalarInt64("PRAGMA busy_timeout") == 120_000)
    }
}
