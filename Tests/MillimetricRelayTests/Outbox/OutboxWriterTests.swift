import Dispatch
import Foundation
import Logging
import SQLiteSupport
import Synchronization
import Testing

@testable import MillimetricRelay

/// The outbox writer on a real database file: page size of new and existing outboxes, and the
/// accounting of settlements.
@Suite struct OutboxWriterTests {
    let outbox: OutboxFile

    init() throws {
        outbox = try OutboxFile("outbox-writer")
    }

    func pageSize() throws -> Int64? {
        let connection = try SQLiteConnection(path: outbox.path, mode: .readOnly)
        defer { try? connection.close() }
        return try connection.scalarInt64("PRAGMA page_size")
    }

    static func events(_ lines: [String]) throws -> [ValidatedEvent] {
        var validator = EventValidator()
        let stamp = Array("2026-11-23T10:00:00.000Z".utf8)
        return try lines.map { line in
            var line = line
            return try line.withUTF8 { validator.validate(UnsafeRawBufferPointer($0), receivedTimestamp: stamp) }.get()
        }
    }

    /// Submits and waits for the commit.
    static func store(_ events: [ValidatedEvent], in writer: OutboxWriter) -> [OutboxWriter.Outcome] {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<[OutboxWriter.Outcome]>([])
        writer.submit(events, receivedAt: 1) { outcomes in
            result.withLock { $0 = outcomes }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }
    }

    static func settle(_ settlement: Settlement, in writer: OutboxWriter) throws -> SettlementResult {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<SettlementResult, OutboxError>?>(nil)
        writer.settle(settlement) { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0 }!.get()
    }

    @Test func aNewOutboxUses16KiBPagesAndAnExistingOneKeepsItsOwn() throws {
        let writer = try outbox.openWriter()
        _ = Self.store(try Self.events([#"{"event":"a"}"#]), in: writer)
        writer.close()
        #expect(try pageSize() == Int64(OutboxSchema.pageSize))

        // Rewrite the file with 4 KiB pages, as an outbox made by an earlier version has.
        do {
            let connection = try SQLiteConnection(path: outbox.path, mode: .readWrite)
            try connection.execute("PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM;")
            try connection.close()
        }
        #expect(try pageSize() == 4096)
        let reopened = try outbox.openWriter()
        #expect(reopened.snapshot.queuedEvents == 1)
        _ = Self.store(try Self.events([#"{"event":"b"}"#]), in: reopened)
        reopened.close()
        #expect(try pageSize() == 4096)
    }

    @Test func settlingADeliveredRangeFreesExactlyTheRowsStillQueued() throws {
        let writer = try outbox.openWriter()
        defer { writer.close() }
        let lines = (0..<20).map { #"{"event":"e\#($0)","user_id":"\#($0 % 4 == 0 ? "gone" : "kept")","properties":{"n":\#($0)}}"# }
        let outcomes = Self.store(try Self.events(lines), in: writer)
        let seqs = outcomes.compactMap { outcome -> Int64? in
            if case .stored(let seq, _) = outcome { return seq }
            return nil
        }
        try #require(seqs.count == 20)
        let bodyBytes = try Self.events(lines).map { Int64($0.body.count) }
        #expect(writer.snapshot.queuedEvents == 20)

        // A forget purges five rows of the range before it is settled.
        let forget = Self.store(try Self.events([#"{"type":"forget","user_id":"gone"}"#]), in: writer)
        #expect(forget.first == .stored(seq: seqs.last! + 1, purged: 5))
        let result = try Self.settle(Settlement(delivered: [seqs.first!...seqs.last!]), in: writer)

        let keptBytes = bodyBytes.enumerated().filter { $0.offset % 4 != 0 }.reduce(0) { $0 + $1.element }
        #expect(result.deliveredRows == 15)
        #expect(result.freedBytes == keptBytes)
        // What is left is the forget row, and the running totals agree with a recount.
        #expect(writer.snapshot.queuedEvents == 1)
        let connection = try SQLiteConnection(path: outbox.path, mode: .readOnly)
        defer { try? connection.close() }
        #expect(try connection.scalarInt64("SELECT coalesce(sum(bytes), 0) FROM events") == writer.snapshot.storedBytes)
        #expect(try Self.settle(Settlement(delivered: [seqs.first!...seqs.last!]), in: writer) == SettlementResult())
    }
}
