import FoundationEssentials
import Logging
import NIOConcurrencyHelpers

/// Brings the gauges up to date just before each scrape: the outbox's totals and its cap, the
/// dead letters held, the upstream state and the process's statistics.
///
/// Read at scrape time, a gauge is never older than the scrape that shows it, and nothing is
/// read between scrapes. It runs off the event loops (the dead-letter count is a short SQLite
/// read); one refresh at a time, so that concurrent scrapes never interleave their writes.
struct ScrapeRefresher: Sendable {
    let metrics: RelayMetrics
    let process: ProcessMetrics
    let maximumBytes: Int64
    let logger: Logger
    let snapshot: @Sendable () -> OutboxWriter.Snapshot
    let upstream: @Sendable () -> UpstreamState
    let deadLetters: @Sendable () throws -> Int64
    /// Held by one refresh at a time; shared by every copy of the refresher.
    let running = NIOLock()

    func refresh() {
        running.withLock {
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
