import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import MillimetricRelay

/// Two connections sharing one budget of unacked lines (issue #11): one paused for want of
/// budget resumes when the other's lines are acked, though its own are still in their commit.
extension IngestConnectionHandlerTests {
    static func channel(_ writer: OutboxWriter, budget: UnackedLineBudget, share: Int, reads: ReadCounter) async throws -> NIOAsyncTestingChannel {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(reads)
            try channel.pipeline.syncOperations.addHandler(IngestConnectionHandler(
                settings: .init(maximumLineBytes: 65_536, maximumUnackedLines: share, forgetPolicy: .default),
                budget: budget, writer: writer, metrics: RelayMetrics(), logger: Logger(label: "test")))
        }
        try await channel.connect(to: try SocketAddress(unixDomainSocketPath: "/tmp/ingest.sock")).get()
        return channel
    }

    /// Whether a read asked for on `channel` reaches the socket.
    static func readPasses(_ channel: NIOAsyncTestingChannel, _ counter: ReadCounter) async throws -> Bool {
        let before = counter.reads.load(ordering: .relaxed)
        try await channel.testingEventLoop.executeInContext { channel.read() }
        return counter.reads.load(ordering: .relaxed) > before
    }

    @Test func aConnectionPausedForWantOfBudgetResumesWhenAnotherConnectionsLinesAreAcked() async throws {
        // Each connection has its own writer, blocked until the test releases it, so the first's
        // lines stay unacked while the second's are acked.
        try await Self.withBlockedWriter { firstWriter, releaseFirst in
            try await Self.withBlockedWriter { secondWriter, releaseSecond in
                let budget = UnackedLineBudget(total: 4)
                let firstReads = ReadCounter(), secondReads = ReadCounter()
                let first = try await Self.channel(firstWriter, budget: budget, share: 1, reads: firstReads)
                let second = try await Self.channel(secondWriter, budget: budget, share: 1, reads: secondReads)

                try await second.writeInbound(ByteBuffer(string: Self.line("second-1") + Self.line("second-2") + Self.line("second-3")))
                try await first.writeInbound(ByteBuffer(string: Self.line("first-1") + Self.line("first-2")))
                // Five lines unacked, four budgeted, each connection past its share: both pause.
                #expect(budget.linesInUse == 5)
                #expect(try await !Self.readPasses(first, firstReads))
                #expect(try await !Self.readPasses(second, secondReads))

                // The second connection's lines are committed and acked: room again, and the
                // first connection reads on while its own two lines still wait for their commit.
                let before = firstReads.reads.load(ordering: .relaxed)
                try releaseSecond()
                let secondAnswers = try await Self.answers(second, count: 3)
                #expect(secondAnswers.count == 3 && secondAnswers.allSatisfy { $0.hasPrefix(#"{"ok":true"#) })
                // The wake-up was queued on the first connection's loop before the acks left.
                try await first.testingEventLoop.executeInContext {}
                #expect(firstReads.reads.load(ordering: .relaxed) > before, "the first connection still waits for budget")
                #expect(budget.linesInUse == 2)

                // Both go on: more lines on each, all answered once the first writer commits.
                try await second.writeInbound(ByteBuffer(string: Self.line("second-4")))
                try await first.writeInbound(ByteBuffer(string: Self.line("first-3")))
                try releaseFirst()
                let firstAnswers = try await Self.answers(first, count: 3)
                #expect(firstAnswers.count == 3 && firstAnswers.allSatisfy { $0.hasPrefix(#"{"ok":true"#) })
                #expect(try await Self.answers(second, count: 1).count == 1)

                for channel in [first, second] {
                    try await Self.fire(ChannelEvent.inputClosed, on: channel)
                    try await channel.closeFuture.get()
                }
                #expect(budget.linesInUse == 0 && budget.waiterCount == 0)
            }
        }
    }
}
