import Foundation
import RelayTestKit
import SQLiteSupport
import Testing

/// What `run` says when it cannot start: an exit code and a message that tell what happened
/// (README "Exit codes"); 75 only for another daemon.
@Suite struct StartupFailureTests {
    @Test func aStateDirectoryThatCannotBeCreatedExits73() throws {
        let relay = try RelayProcess(start: false)
        // Under a regular file: no directory can be made there, even as root.
        let blocker = relay.directory.appendingPathComponent("not-a-directory")
        _ = FileManager.default.createFile(atPath: blocker.path, contents: Data("x".utf8))
        relay.arguments = ["--state-dir", blocker.appendingPathComponent("state").path]
        let (status, output) = try relay.runToExit()
        #expect(status == 73, "\(output)")
        #expect(output.contains("cannot create the state directory"))
    }

    @Test func anOutboxThatCannotBeOpenedForWritingExits73() throws {
        let relay = try RelayProcess(start: false)
        // A directory where the database file should be.
        try FileManager.default.createDirectory(atPath: relay.databasePath, withIntermediateDirectories: true)
        let (status, output) = try relay.runToExit()
        #expect(status == 73, "\(output)")
        #expect(output.contains("cannot create or write the outbox"))
    }

    @Test func anOutboxLockedByAnotherProgramExits74NotAlreadyRunning() throws {
        let relay = try RelayProcess()
        #expect(relay.terminate() == 0)
        // Not a relay: a program holding an exclusive lock on the database, as an sqlite3 shell
        // with a transaction open would.
        let holder = try SQLiteConnection(path: relay.databasePath, mode: .readWrite)
        defer { try? holder.close() }
        try holder.execute("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; INSERT INTO delivery_state(key, value) VALUES ('held', 1) ON CONFLICT(key) DO UPDATE SET value = 1;")
        let (status, output) = try relay.runToExit(timeout: .seconds(60))
        #expect(status == 74, "\(output)")
        #expect(output.contains("locked by another program"))
        #expect(!output.contains("another millimetric-relay"))
    }
}
