import CSQLite
import Foundation
import PowerCutVFS
import SQLiteSupport
import Testing

/// The crash-simulating VFS keeps what was synced, may drop or tear what was not, and may lose
/// a file whose directory entry was never synced. Serialized: the VFS's state is process-wide.
@Suite(.serialized) struct PowerCutVFSTests {
    static let vfsName = "powercut-tests"

    init() {
        #expect(powercut_vfs_register(Self.vfsName) == SQLITE_OK)
    }

    /// The test's directories (live files and images), removed when the test ends.
    final class Scratch {
        var directories: [String] = []

        deinit {
            for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    let scratch = Scratch()

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("powercut-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        scratch.directories.append(path)
        return path
    }

    /// Writes the image after the cut into a fresh directory and returns it.
    func image(policy: PowerCutUnsyncedPolicy) throws -> String {
        let directory = try temporaryDirectory()
        powercut_vfs_set_unsynced_policy(policy)
        defer { powercut_vfs_set_unsynced_policy(POWERCUT_UNSYNCED_RANDOM) }
        var statistics = PowerCutImageStatistics()
        #expect(powercut_vfs_write_image(directory, &statistics) == 0)
        return directory
    }

    /// Commits one row with synchronous=FULL, then one with synchronous=OFF, and cuts.
    func commitSyncedThenUnsynced(in directory: String) throws {
        let path = directory + "/t.db"
        // A database made before, outside the VFS: durable, as the relay's outbox is once made.
        try {
            let setup = try SQLiteConnection(path: path, mode: .readWriteCreate)
            #expect(try setup.scalarText("PRAGMA journal_mode = WAL") == "wal")
            try setup.close()
        }()
        powercut_vfs_reset(7, 0)
        let db = try SQLiteConnection(path: path, mode: .readWriteCreate, vfs: Self.vfsName)
        try db.execute("PRAGMA synchronous = FULL; CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('synced')")
        try db.execute("PRAGMA synchronous = OFF; INSERT INTO t VALUES ('unsynced')")
        powercut_vfs_cut()
        #expect(throws: SQLiteError.self) { try db.execute("INSERT INTO t VALUES ('after the cut')") }
        try? db.close()
    }

    func rows(inImage directory: String) throws -> [String] {
        let db = try SQLiteConnection(path: directory + "/t.db", mode: .readWrite)
        defer { try? db.close() }
        #expect(try db.scalarText("PRAGMA integrity_check") == "ok")
        var values: [String] = []
        try {
            let select = try db.prepare("SELECT v FROM t ORDER BY rowid")
            while try select.step() { values.append(select.text(at: 0) ?? "<NULL>") }
        }()
        return values
    }

    @Test func syncedCommitSurvivesAndUnsyncedOneIsDroppedOrKept() throws {
        let live = try temporaryDirectory()
        try commitSyncedThenUnsynced(in: live)

        let dropped = try image(policy: POWERCUT_UNSYNCED_DROP)
        #expect(try rows(inImage: dropped) == ["synced"])

        let kept = try image(policy: POWERCUT_UNSYNCED_KEEP)
        #expect(try rows(inImage: kept) == ["synced", "unsynced"])
        // The -shm file is never part of the image.
        #expect(!FileManager.default.fileExists(atPath: kept + "/t.db-shm"))
    }

    @Test func newDatabaseWhoseDirectoryWasNeverSyncedCanVanish() throws {
        let live = try temporaryDirectory()
        powercut_vfs_reset(7, 0)
        // Created by SQLite: the unix VFS syncs the directory for a new WAL, never for the
        // main database file.
        let db = try SQLiteConnection(path: live + "/t.db", mode: .readWriteCreate, vfs: Self.vfsName)
        #expect(try db.scalarText("PRAGMA journal_mode = WAL") == "wal")
        try db.execute("PRAGMA synchronous = FULL; CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('synced')")
        powercut_vfs_cut()
        try? db.close()

        let lost = try image(policy: POWERCUT_UNSYNCED_DROP)
        #expect(!FileManager.default.fileExists(atPath: lost + "/t.db"))
        #expect(FileManager.default.fileExists(atPath: lost + "/t.db-wal"))
    }

    @Test func directorySyncKeepsNewDatabase() throws {
        let live = try temporaryDirectory()
        powercut_vfs_reset(7, 0)
        let db = try SQLiteConnection(path: live + "/t.db", mode: .readWriteCreate, vfs: Self.vfsName)
        #expect(try db.scalarText("PRAGMA journal_mode = WAL") == "wal")
        // The journal that switched the new file to WAL was unlinked without a directory sync.
        powercut_vfs_directory_synced(live + "/")
        try db.execute("PRAGMA synchronous = FULL; CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('synced')")
        powercut_vfs_cut()
        try? db.close()

        let kept = try image(policy: POWERCUT_UNSYNCED_DROP)
        #expect(!FileManager.default.fileExists(atPath: kept + "/t.db-journal"))
        #expect(try rows(inImage: kept) == ["synced"])
    }

    @Test func armedOperationCutsThePower() throws {
        let live = try temporaryDirectory()
        let path = live + "/t.db"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        powercut_vfs_reset(7, 3)
        let db = try SQLiteConnection(path: path, mode: .readWriteCreate, vfs: Self.vfsName)
        #expect(throws: SQLiteError.self) {
            _ = try db.scalarText("PRAGMA journal_mode = WAL")
            try db.execute("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('a'); INSERT INTO t VALUES ('b')")
        }
        #expect(powercut_vfs_is_cut() == 1)
        #expect(powercut_vfs_operations() == 3)
        try? db.close()
    }

    /// Raw VFS calls on one file: 4 KiB of "B" synced over "A", then 4 KiB of "C" not synced.
    @Test func unsyncedWriteTearsAtSectorGranularity() throws {
        let live = try temporaryDirectory()
        let path = live + "/raw"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: UInt8(ascii: "A"), count: 4096)))
        let vfs = try #require(sqlite3_vfs_find(Self.vfsName))
        var sawTear = false
        for seed in UInt64(1)...32 {
            powercut_vfs_reset(seed, 0)
            let file = UnsafeMutableRawPointer.allocate(byteCount: Int(vfs.pointee.szOsFile), alignment: 16)
                .bindMemory(to: sqlite3_file.self, capacity: 1)
            let name = strdup(path)!
            defer {
                file.deallocate()
                free(name)
            }
            var outFlags: Int32 = 0
            #expect(vfs.pointee.xOpen(vfs, name, file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MAIN_DB, &outFlags) == SQLITE_OK)
            let methods = try #require(file.pointee.pMethods)
            let b = [UInt8](repeating: UInt8(ascii: "B"), count: 4096)
            let c = [UInt8](repeating: UInt8(ascii: "C"), count: 4096)
            #expect(methods.pointee.xWrite(file, b, 4096, 0) == SQLITE_OK)
            #expect(methods.pointee.xSync(file, SQLITE_SYNC_FULL) == SQLITE_OK)
            #expect(methods.pointee.xWrite(file, c, 4096, 0) == SQLITE_OK)
            powercut_vfs_cut()
            #expect(methods.pointee.xWrite(file, c, 4096, 0) == SQLITE_IOERR | (3 << 8))  // SQLITE_IOERR_WRITE, a macro Swift cannot import
            _ = methods.pointee.xClose(file)

            let torn = try image(policy: POWERCUT_UNSYNCED_TEAR)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: torn + "/raw")))
            #expect(bytes.count == 4096)
            // Every sector is wholly the synced content or wholly the unsynced: never "A",
            // never a mix within a sector.
            let sectors = stride(from: 0, to: bytes.count, by: 512).map { Set(bytes[$0..<$0 + 512]) }
            #expect(sectors.allSatisfy { $0 == [UInt8(ascii: "B")] || $0 == [UInt8(ascii: "C")] })
            if Set(sectors).count == 2 { sawTear = true }
        }
        #expect(sawTear)
    }
}
