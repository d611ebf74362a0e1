import Foundation
import Logging
import NIOCore
import NIOEmbedded
import SQLiteSupport
import Synchronization
import Testing

@_spi(Testing) @testable import MillimetricRelay

/// The connection handler with a real outbox writer, driven read by read: what a connection
/// answers while the daemon stops (SPEC §4, §8: every line read gets exactly one answer).
@Suite struct IngestConnectionHandlerTests {
    static func line(_ id: String) -> String { #"{"event":"page","event_id":"\#(id)"}"# + "\n" }

    /// Reads ack lines from the channel until `count` arrived or ten minutes passed. The limit
    /// only keeps a broken handler from hanging the run: under the sanitizers the parallel suite
    /// starves this test's task for minutes at a time (both tests here once took 190-300 s in
    /// CI), so a deadline of seconds failed tests that were right.
    static func answers(_ channel: NIOAsyncTestingChannel, count: Int) async throws -> [String] {
        var text = ""
        let deadline = ContinuousClock.now + .seconds(600)
        while text.split(separator: "\n").count < count && ContinuousClock.now < deadline {
            if let buffer = try await channel.readOutbound(as: ByteBuffer.self) {
                text += String(buffer: buffer)
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        return text.split(separator: "\n").map(String.init)
    }

    /// A fresh outbox writer in a temporary directory, and a second connection to its file that
    /// holds the write lock while `body` runs, so that no commit completes before the test
    /// lets it (`release`): the lines stay unanswered exactly as long as the test needs.
    static func withBlockedWriter(_ body: (OutboxWriter, _ release: () throws -> Void) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("handler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("outbox.sqlite").path
        // The writer waits up to an hour for the lock, not the daemon's 5 s: the test releases
        // it, not a clock. Under the sanitizers the parallel suite starves a test's task for
        // minutes, and the steps between taking the lock and releasing it once took longer than
        // 5 s and then longer than 2 min; the writer's commits failed as "locked".
        let writer = try OutboxWriter(
            path: path, synchronous: .normal, maximumBytes: 1 << 30, logger: Logger(label: "test"),
            testHooks: OutboxTestHooks(sqlAfterOpen: "PRAGMA busy_timeout = 3600000"))
        defer { writer.close() }
        let lock = try SQLiteConnection(path: path, mode: .readWrite)
        try lock.execute("BEGIN IMMEDIATE")
        var released = false
        let release = {
            guard !released else { return }
            released = true
            try lock.execute("COMMIT")
        }
        defer { try? release() }
        try await body(writer, release)
    }

    static func channel(_ writer: OutboxWriter, reads: ReadCounter? = nil) async throws -> NIOAsyncTestingChannel {
        let channel = try await NIOAsyncTestingChannel { channel in
            if let reads { try channel.pipeline.syncOperations.addHandler(reads) }
            try channel.pipeline.syncOperations.addHandler(IngestConnectionHandler(
                settings: .init(maximumLineBytes: 65_536, maximumUnackedLines: 2_048, forgetPolicy: .default),
                writer: writer, metrics: RelayMetrics(), logger: Logger(label: "test")))
        }
        try await channel.connect(to: try SocketAddress(unixDomainSocketPath: "/tmp/ingest.sock")).get()
        return channel
    }

    /// A user event (the daemon's stop, the end of the client's input) through the pipeline, on
    /// the channel's event loop.
    static func fire(_ event: any Sendable, on channel: NIOAsyncTestingChannel) async throws {
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(event)
        }
    }

    /// One answer for each line, in order: stored, or refused because the daemon is stopping.
    static func expectStoredOrShuttingDown(_ answers: [String], _ ids: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answers.count == ids.count, "lines read: \(ids); answers: \(answers)", sourceLocation: sourceLocation)
        for (answer, id) in zip(answers, ids) {
            #expect(
                answer == #"{"ok":true,"event_id":"\#(id)"}"# || answer.contains(#""error":"shutting_down""#), "line \(id) got \(answer)",
                sourceLocation: sourceLocation)
        }
    }

    @Test func aLastLineEndedByTheClientsHalfCloseWhileQuiescingIsAnswered() async throws {
        try await Self.withBlockedWriter { writer, release in
            let channel = try await Self.channel(writer)
            // A line in its commit when the stop comes keeps the connection open.
            try await channel.writeInbound(ByteBuffer(string: Self.line("before-1")))
            try await Self.fire(ChannelShouldQuiesceEvent(), on: channel)
            // The read armed before the stop brings a line and a last line without "\n", then
            // the end of the client's input: both count as lines (SPEC §4).
            try await channel.writeInbound(ByteBuffer(string: Self.line("after-1") + #"{"event":"page","event_id":"last"}"#))
            try await Self.fire(ChannelEvent.inputClosed, on: channel)
            try release()
            let answers = try await Self.answers(channel, count: 3)
            Self.expectStoredOrShuttingDown(answers, ["before-1", "after-1", "last"])
            try await channel.closeFuture.get()
        }
    }

    @Test func linesOfAReadThatLandsWhileQuiescingAreAnsweredAndThenTheConnectionCloses() async throws {
        try await Self.withBlockedWriter { writer, release in
            let channel = try await Self.channel(writer)
            // One read before the daemon starts stopping (its commit waits); then the stop; then
            // the read that was already armed delivers more lines, the last one cut short.
            try await channel.writeInbound(ByteBuffer(string: Self.line("before-1")))
            try await Self.fire(ChannelShouldQuiesceEvent(), on: channel)
            try await channel.writeInbound(ByteBuffer(string: Self.line("after-1") + Self.line("after-2") + #"{"event":"par"#))
            try release()

            let answers = try await Self.answers(channel, count: 3)
            Self.expectStoredOrShuttingDown(answers, ["before-1", "after-1", "after-2"])
            // Everything read is answered: the connection closes (the partial line was never a line).
            try await channel.closeFuture.get()
            #expect(try await channel.readOutbound(as: ByteBuffer.self) == nil)
        }
    }

    /// Sits between the handler and the socket and counts the reads the handler lets through.
    final class ReadCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = ByteBuffer
        let reads = Atomic<Int>(0)

        func read(context: ChannelHandlerContext) {
            reads.add(1, ordering: .relaxed)
            context.read()
        }
    }

    /// Whether the handler still reads once `lines` lines (after a backfill hello if `backfill`)
    /// await their commit. Then everything is committed, answered, and the connection closed.
    static func readsOn(backfill: Bool, unansweredLines lines: Int) async throws -> Bool {
        var readsOn = false
        try await withBlockedWriter { writer, release in
            let counter = ReadCounter()
            let channel = try await channel(writer, reads: counter)
            var text = backfill ? #"{"type":"hello","lane":"backfill"}"# + "\n" : ""
            for index in 0..<(backfill ? lines - 1 : lines) { text += line("line-\(index)") }
            try await channel.writeInbound(ByteBuffer(string: text))
            let before = counter.reads.load(ordering: .relaxed)
            try await channel.testingEventLoop.executeInContext { channel.read() }
            readsOn = counter.reads.load(ordering: .relaxed) > before
            try await channel.testingEventLoop.executeInContext {
                channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
            try release()
            try await channel.closeFuture.get()
        }
        return readsOn
    }

    @Test func aBackfillConnectionReadsAheadPastTheLiveCapUpToOneCommitOfRows() async throws {
        let liveCap = 2_048
        // A live connection stops reading at its cap (2,048 lines awaiting their commit)...
        #expect(try await Self.readsOn(backfill: false, unansweredLines: liveCap - 1))
        #expect(try await !Self.readsOn(backfill: false, unansweredLines: liveCap))
        #expect(try await !Self.readsOn(backfill: false, unansweredLines: 2 * liveCap))
        // ...a backfill one (an import) keeps reading, so the next rows are validated while those
        // commit, until it has one commit's worth of rows unanswered: still a bound.
        let backfillCap = IngestConnectionHandler.backfillMaximumUnackedLines
        #expect(backfillCap == OutboxWriter.maximumRowsPerCommit && backfillCap > 2 * liveCap)
        #expect(try await Self.readsOn(backfill: true, unansweredLines: 2 * liveCap))
        #expect(try await Self.readsOn(backfill: true, unansweredLines: backfillCap - 1))
        #expect(try await !Self.readsOn(backfill: true, unansweredLines: backfillCap))
    }
}
