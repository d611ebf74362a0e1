import Foundation
import InMemoryLogging
import Logging
import Testing

@testable import MillimetricRelay

/// What the outbox writer tells the operator: the events found by `MESSAGE_ID` in the journal.
@Suite struct OutboxWriterLogTests {
    let directory: URL
    let log = InMemoryLogHandler()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func openWriter(maximumBytes: Int64) throws -> OutboxWriter {
        try OutboxWriter(path: directory.appendingPathComponent("outbox.sqlite").path, synchronous: .normal,
                         maximumBytes: maximumBytes, logger: Logger(label: "test", factory: { _ in log }))
    }

    func entries(withID id: String) -> [InMemoryLogHandler.Entry] {
        log.entries.filter { $0.metadata[RelayMessageID.metadataKey]?.description == id }
    }

    @Test func outboxFullIsLoggedOncePerEpisodeWithItsMessageID() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try openWriter(maximumBytes: 200)
        defer { writer.close() }
        let big = #"{"event":"big","properties":{"pad":"\#(String(repeating: "x", count: 120))"}}"#
        _ = OutboxWriterTests.store(try OutboxWriterTests.events([big]), in: writer)
        for _ in 0..<3 {
            let refused = OutboxWriterTests.store(try OutboxWriterTests.events([big]), in: writer)
            guard case .rejected(let rejection) = refused.first else { Issue.record("not refused: \(refused)"); return }
            #expect(rejection.code == .outboxFull)
        }
        let full = entries(withID: RelayMessageID.outboxFull.hexDigits)
        #expect(full.count == 1)
        #expect(full.first?.level == .error)
        #expect(full.first?.metadata["outbox.max_bytes"]?.description == "200")

        // Space again (a small event fits): "accepts again" is said, and a new episode logs again.
        let small = OutboxWriterTests.store(try OutboxWriterTests.events([#"{"event":"s"}"#]), in: writer)
        guard case .stored = small.first else { Issue.record("not stored: \(small)"); return }
        #expect(log.entries.contains { $0.message.description == "outbox accepts events again" })
        _ = OutboxWriterTests.store(try OutboxWriterTests.events([big]), in: writer)
        #expect(entries(withID: RelayMessageID.outboxFull.hexDigits).count == 2)
    }

    @Test func aForgetIsLoggedWithItsOwnEventIDAndCountsButNeverTheUserID() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try openWriter(maximumBytes: 1 << 30)
        defer { writer.close() }
        let lines = (0..<3).map { #"{"event":"e\#($0)","user_id":"user-to-erase"}"# }
        _ = OutboxWriterTests.store(try OutboxWriterTests.events(lines), in: writer)
        let forget = #"{"type":"forget","user_id":"user-to-erase","event_id":"forget-1"}"#
        _ = OutboxWriterTests.store(try OutboxWriterTests.events([forget]), in: writer)

        let purged = entries(withID: RelayMessageID.forgetPurged.hexDigits)
        #expect(purged.count == 1)
        #expect(purged.first?.level == .notice)
        #expect(purged.first?.metadata["event.id"]?.description == "forget-1")
        #expect(purged.first?.metadata["outbox.purged_events"]?.description == "3")
        #expect(purged.first?.metadata["outbox.purged_dead_letters"]?.description == "0")
        let everything = log.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!everything.contains("user-to-erase"))
    }
}
