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
}
