import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import MillimetricRelay

/// What a connection past its unacked-line budget may still bring in (issue #11): the budget is
/// checked before a read cycle, not per line, so one cycle's bytes bound how far past it a
/// connection goes. A cycle of 4 reads growing to 64 KiB brought up to 256 KiB of lines (about
/// 600 validated events of the peer load's) per connection; one read of 16 KiB brings at most
/// that.
@Suite struct IngestServerReadTests {
    @Test func aConnectionPastItsBudgetHoldsAtMostOneReadOfLines() async throws {
        try await IngestConnectionHandlerTests.withBlockedWriter { writer, release in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-read-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var configuration = IngestServer.Configuration(socketPath: directory.appendingPathComponent("relay.sock").path)
            configuration.maximumUnackedLinesPerConnection = 1
            configuration.maximumUnackedLines = 1
            let metrics = RelayMetrics()
            let server = IngestServer(
                configuration: configuration, writer: writer, group: MultiThreadedEventLoopGroup.singleton,
                metrics: metrics, logger: Logger(label: "test"))
            try await server.start()

            // 64 KiB of lines in one write, all in the socket before the relay's first read of
            // them; the writer is blocked, so the first group's lines stay unacked and use up
            // the budget, and no read may follow the first cycle.
            let lines = (0..<1_000).map { IngestConnectionHandlerTests.line(String(format: "read-%06d", $0)) }
            let lineBytes = lines[0].utf8.count
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: configuration.socketPath).get()
            try await client.writeAndFlush(ByteBuffer(string: lines.joined())).get()

            var received: Int64 = 0
            var quietSince = ContinuousClock.now
            let deadline = ContinuousClock.now + .seconds(600)
            // Until some lines arrived and then nothing more for half a second.
            while received == 0 || ContinuousClock.now - quietSince < .milliseconds(500), ContinuousClock.now < deadline {
                let more = metrics.tally.take().filter { $0.key == IngestTally.linesReceivedKey }.reduce(0) { $0 + $1.count }
                if more > 0 {
                    received += more
                    quietSince = ContinuousClock.now
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(received > 0)
            #expect(received <= Int64(IngestServer.maximumReadBytes / lineBytes), "lines read past the budget: \(received) of \(lines.count)")

            try release()
            try await client.close()
            await server.shutdown()
        }
    }

    /// A backfill connection (hello first) holds up to 8,192 lines anyway, and one 16 KiB read
    /// per cycle cost `import` 0.93x its events/s (issue #16): after its hello it reads 4 x up to
    /// 64 KiB per cycle again, while a live connection with the same cap still reads one 16 KiB.
    /// Both hold 8,191 unacked lines (one below the cap, so one more cycle is armed) when 4,000
    /// more lines arrive in one write: the lines that cycle reads are what one cycle brings.
    @Test(arguments: [false, true]) func aBackfillConnectionReadsLargerCyclesThanALiveOne(backfill: Bool) async throws {
        let cap = IngestConnectionHandler.backfillMaximumUnackedLines
        try await IngestConnectionHandlerTests.withBlockedWriter { writer, release in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-read-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var configuration = IngestServer.Configuration(socketPath: directory.appendingPathComponent("relay.sock").path)
            configuration.maximumUnackedLinesPerConnection = cap
            configuration.maximumUnackedLines = cap
            let metrics = RelayMetrics()
            let server = IngestServer(
                configuration: configuration, writer: writer, group: MultiThreadedEventLoopGroup.singleton,
                metrics: metrics, logger: Logger(label: "test"))
            try await server.start()
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: configuration.socketPath).get()

            var received: Int64 = 0
            // Lines read so far, once `count` arrived (or, with `count` nil, nothing more for half a second).
            func waitForLines(_ count: Int64?) async throws {
                var quietSince = ContinuousClock.now
                let deadline = ContinuousClock.now + .seconds(600)
                while ContinuousClock.now < deadline {
                    let more = metrics.tally.take().filter { $0.key == IngestTally.linesReceivedKey }.reduce(0) { $0 + $1.count }
                    if more > 0 {
                        received += more
                        quietSince = ContinuousClock.now
                    }
                    if let count, received >= count { return }
                    if count == nil, ContinuousClock.now - quietSince >= .milliseconds(500) { return }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            if backfill {
                // Acked at once (no events): it leaves no unacked line behind.
                try await client.writeAndFlush(ByteBuffer(string: #"{"type":"hello","lane":"backfill"}"# + "\n")).get()
                try await waitForLines(1)
            }
            let before = received
            let lines = (0..<(cap - 1 + 4_000)).map { IngestConnectionHandlerTests.line(String(format: "read-%06d", $0)) }
            let lineBytes = lines[0].utf8.count
            try await client.writeAndFlush(ByteBuffer(string: lines[..<(cap - 1)].joined())).get()
            try await waitForLines(before + Int64(cap - 1))
            try await waitForLines(nil)
            #expect(received == before + Int64(cap - 1), "the connection stopped before its cap")
            try await client.writeAndFlush(ByteBuffer(string: lines[(cap - 1)...].joined())).get()
            try await waitForLines(nil)
            let lastCycle = received - before - Int64(cap - 1)

            let oneLiveRead = Int64((IngestServer.maximumReadBytes + lineBytes - 1) / lineBytes)
            if backfill {
                #expect(lastCycle > oneLiveRead, "one cycle read \(lastCycle) lines, not more than one 16 KiB read's \(oneLiveRead)")
                #expect(lastCycle <= Int64(IngestServer.backfillReadsPerCycle * IngestServer.backfillMaximumReadBytes / lineBytes + 1))
            } else {
                #expect(lastCycle > 0)
                #expect(lastCycle <= oneLiveRead, "one cycle read \(lastCycle) lines, more than one 16 KiB read's \(oneLiveRead)")
            }

            try release()
            try await client.close()
            await server.shutdown()
        }
    }
}
