import Foundation
import SQLiteSupport
import Testing

@Suite struct SQLiteConnectionTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-\(UUID().uuidString).db").path
    }

    @Test func preparedStatementsAreReusedWithFreshBindings() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteConnection(path: path, mode: .readWriteCreate)
        // Statements live in this scope: a connection closes only once they are finalized.
        try {
            try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, body TEXT)")
            let insert = try db.prepare("INSERT INTO t(name, body) VALUES (?, ?)")
            for i in 0..<100 {
                try insert.bind("n\(i)", at: 1)
                let body = Array("body-\(i)-é".utf8)
                let result: Result<Void, SQLiteError> = body.withUnsafeBytes { raw in
                    Result { () throws(SQLiteError) in
                        try insert.bindTextNoCopy(raw, at: 2)
                        try insert.step()
                    }
                }
                try result.get()
                insert.clearBindings()
            }
            #expect(db.lastInsertRowID == 100)
            #expect(try db.scalarInt64("SELECT count(*) FROM t") == 100)
            let select = try db.prepare("SELECT name, body FROM t WHERE id = ?")
            try select.bind(42, at: 1)
            #expect(try select.step())
            #expect(select.text(at: 0) == "n41")
            #expect(select.bytes(at: 1) == Array("body-41-é".utf8))
            select.reset()
            try select.bind(Int64(1_000), at: 1)
            #expect(try select.step() == false)
        }()
        try db.close()
        #expect(db.isClosed)
    }

    @Test func nullsAreBoundAndReadAsNil() throws {
        let db = try SQLiteConnection(path: ":memory:", mode: .readWriteCreate)
        try db.execute("CREATE TABLE t(a TEXT)")
        let insert = try db.prepare("INSERT INTO t(a) VALUES (?)")
        try insert.bind(nil as String?, at: 1)
        try insert.step()
        let select = try db.prepare("SELECT a FROM t")
        #expect(try select.step())
        #expect(select.isNull(at: 0))
        #expect(select.text(at: 0) == nil)
        #expect(select.bytes(at: 0) == nil)
    }

    @Test func errorsCarryTheExtendedCodeAndSQLitesMessage() throws {
        let db = try SQLiteConnection(path: ":memory:", mode: .readWriteCreate)
        #expect {
            _ = try db.prepare("SELEC nonsense")
        } throws: { error in
            guard let error = error as? SQLiteError else { return false }
            return error.primaryCode == 1 && error.message.contains("syntax error") && error.operation == "prepare"
        }
        try db.execute("CREATE TABLE u(a INTEGER UNIQUE)")
        try db.execute("INSERT INTO u VALUES (1)")
        do {
            try db.execute("INSERT INTO u VALUES (1)")
            Issue.record("a duplicate insert succeeded")
        } catch {
            #expect(error.primaryCode == 19)  // SQLITE_CONSTRAINT
            #expect(error.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        }
    }

    @Test func aFileThatIsNotADatabaseIsReportedAsCorruptOrForeign() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: 4096))
        let db = try SQLiteConnection(path: path, mode: .readWrite)
        do {
            _ = try db.scalarInt64("PRAGMA user_version")
            Issue.record("read a non-database")
        } catch {
            #expect(error.isCorruptOrForeign)
        }
    }

    @Test func aMissingFileCannotBeOpenedReadOnly() {
        #expect(throws: SQLiteError.self) {
            _ = try SQLiteConnection(path: "/nonexistent/dir/x.db", mode: .readOnly)
        }
    }

    @Test func theDiskFullCodeIsRecognised() throws {
        let db = try SQLiteConnection(path: ":memory:", mode: .readWriteCreate)
        try db.execute("CREATE TABLE t(a BLOB)")
        _ = try db.scalarInt64("PRAGMA max_page_count = 3")
        do {
            for _ in 0..<100 { try db.execute("INSERT INTO t VALUES (randomblob(4000))") }
            Issue.record("the page limit was not reached")
        } catch {
            #expect(error.isFull)
        }
    }

    @Test func closingWithALiveStatementFailsAndDeinitStillCleansUp() throws {
        let db = try SQLiteConnection(path: ":memory:", mode: .readWriteCreate)
        var statement: SQLiteStatement? = try db.prepare("SELECT 1")
        #expect(throws: SQLiteError.self) { try db.close() }
        statement = nil
        _ = statement
        try db.close()
    }
}
