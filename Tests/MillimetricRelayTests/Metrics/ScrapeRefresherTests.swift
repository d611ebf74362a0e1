import Foundation
import Logging
import Prometheus
import Synchronization
import Testing

@testable import MillimetricRelay

/// What a scrape shows of the outbox, the dead letters and the upstream state: read just before it.
@Suite struct ScrapeRefresherTests {
    struct Failure: Error {}

    @Test func aScrapeShowsTheOutboxAgainstItsCapTheDeadLettersAndTheUpstreamState() {
        let registry = PrometheusCollectorRegistry()
        let factory = DocumentedMetricsFactory(registry: registry)
        let metrics = RelayMetrics(factory: factory)
        let state = Mutex<UpstreamState>(.ok)
        let deadLetters = Mutex<Int64?>(4)
        let oldest = Int64((Date().timeIntervalSince1970 - 120) * 1000)
        let refresher = ScrapeRefresher(
            metrics: metrics, process: ProcessMetrics(factory: factory), maximumBytes: 1_000_000, logger: Logger(label: "test"),
            snapshot: { OutboxWriter.Snapshot(queuedEvents: 7, storedBytes: 900_000, oldestReceivedAt: oldest, lastSeq: 9, commits: 1) },
            upstream: { state.withLock { $0 } },
            deadLetters: {
                guard let count = deadLetters.withLock({ $0 }) else { throw Failure() }
                return count
            })
        func scrape() -> ExpositionText {
            refresher.refresh()
            return ExpositionText(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        }
        func upstreamSeries(_ scrape: ExpositionText) -> [String] {
            scrape.samples.filter { $0.name == "millimetric_relay_upstream_state" && $0.value == 1 }.map { "\($0.labels["state"]!)/\($0.labels["reason"]!)" }
        }

        var text = scrape()
        #expect(text.value("millimetric_relay_queue_events") == 7)
        #expect(text.value("millimetric_relay_outbox_bytes") == 900_000)
        #expect(text.value("millimetric_relay_outbox_max_bytes") == 1_000_000)
        #expect(text.value("millimetric_relay_dead_letters") == 4)
        let age = text.value("millimetric_relay_oldest_event_age_seconds") ?? 0
        #expect(age >= 119 && age < 600)
        #expect(upstreamSeries(text) == ["ok/none"])
        #expect(text.samples.filter { $0.name == "millimetric_relay_upstream_state" }.count == UpstreamCondition.allCases.count)
        #expect((text.value("process_resident_memory_bytes") ?? 0) > 0)

        state.withLock { $0 = .paused(reason: "401 invalid_api_key from upstream") }
        deadLetters.withLock { $0 = nil }  // the count fails: the last one stays
        text = scrape()
        #expect(upstreamSeries(text) == ["paused/unauthorized"])
        #expect(text.value("millimetric_relay_dead_letters") == 4)

        state.withLock { $0 = .backingOff(until: Date() + 3, reason: "429 rate_limited from upstream") }
        text = scrape()
        #expect(upstreamSeries(text) == ["backing_off/rate_limited"])
    }
}
