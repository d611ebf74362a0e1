import FoundationEssentials
import Logging
import Synchronization

/// Brings the gauges up to date just before each scrape: the outbox's totals and its cap, the
/// dead letters held, the upstream state and the process's statistics.
///
/// Read at scrape time, a gauge is never older than the scrape that shows it, and nothing is
/// read between scrapes. It runs off the event loops (the dead-letter count is a short SQLite
/// read); one refresh at a time, so that concurrent scrapes never interleave their writes.
final class ScrapeRefresher: Sendable {
    private let metrics: RelayMetrics
    private let process: ProcessMetrics
    private let maximumBytes: Int64
    private let snapshot: @Sendable () -> OutboxWriter.Snapshot
    private let upstream: @Sendable () -> UpstreamState
    private let deadLetters: @Sendable () throws -> Int64
    private let logger: Logger
    private let running = Mutex(())

    // Written out: a class gets no memberwise init (it is a class for its lock, which one value
    // shared by every scrape must hold). `duplicates` pairs it with CurlHTTPClient.Configuration's.
    init(
        metrics: RelayMetrics, process: ProcessMetrics, maximumBytes: Int64, logger: Logger,
        snapshot: @escaping @Sendable () -> OutboxWriter.Snapshot,
        upstream: @escaping @Sendable () -> UpstreamState,
        deadLetters: @escaping @Sendable () throws -> Int64
    ) {
        self.metrics = metrics
        self.process = process
        self.maximumBytes = maximumBytes
        self.snapshot = snapshot
        self.upstream = upstream
        self.deadLetters = deadLetters
        self.logger = logger
    }

    func refresh() {
        running.withLock { _ in
            let outbox = snapshot()
            metrics.queueDepth.record(outbox.queuedEvents)
            metrics.outboxBytes.record(outbox.storedBytes)
            metrics.outboxMaximumBytes.record(maximumBytes)
            let age = outbox.oldestReceivedAt.map { max(0, Date().timeIntervalSince1970 - Double($0) / 1000) } ?? 0
            metrics.oldestEventAgeSeconds.record(age)
            metrics.upstreamState(upstream())
            do {
                metrics.deadLetters.record(try deadLetters())
            } catch {
                // The last count stays; the next scrape tries again.
                logger.debug("counting dead letters for the metrics failed", metadata: ["outbox.error": "\(error)"])
            }
            process.refresh()
        }
    }
}
