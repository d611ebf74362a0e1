import Metrics
import Prometheus
import Testing

@testable import MillimetricRelay

/// What `promtool check metrics` asks of every family (issue 17): a `# HELP` line and the right
/// `# TYPE`, from the catalogue, for everything the relay creates.
@Suite struct DocumentedMetricsFactoryTests {
    /// Every metric of the relay and the process, created and touched as the daemon does.
    static func scrape() -> ExpositionText {
        let registry = PrometheusCollectorRegistry()
        let factory = DocumentedMetricsFactory(registry: registry)
        let metrics = RelayMetrics(factory: factory)
        let process = ProcessMetrics(factory: factory)
        metrics.upstreamRequest(path: "/v1/batch", status: 202)
        metrics.upstreamRequest(path: "/v1/batch", status: 429)
        metrics.httpRequest(path: "/v1/track", status: 202)
        metrics.requestDuration.recordNanoseconds(12_000_000)
        process.refresh()
        return ExpositionText(String(decoding: registry.emitToBuffer(), as: UTF8.self))
    }

    @Test func everyFamilyOfTheCatalogueIsServedWithItsHelpAndType() {
        let scrape = Self.scrape()
        for family in MetricFamily.catalog {
            #expect(scrape.help[family.name] == family.help, "HELP of \(family.name)")
            #expect(scrape.type[family.name] == family.kind.rawValue, "TYPE of \(family.name)")
        }
    }

    @Test func everySampleBelongsToADocumentedFamily() {
        let scrape = Self.scrape()
        #expect(!scrape.samples.isEmpty)
        for sample in scrape.samples {
            let family = scrape.family(of: sample)
            #expect(!(scrape.help[family] ?? "").isEmpty, "\(sample.name) has no HELP")
            #expect(scrape.type[family] != nil, "\(sample.name) has no TYPE")
        }
    }

    /// The names follow Prometheus's conventions, which promtool's linter checks too.
    @Test(arguments: MetricFamily.catalog)
    func namesCarryTheirUnitAndCountersEndInTotal(_ family: MetricFamily) {
        #expect(family.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" })
        #expect(family.name.hasSuffix("_total") == (family.kind == .counter), "\(family.name)")
        #expect(!family.help.isEmpty)
        if family.name.contains("bytes") { #expect(family.name.hasSuffix("_bytes")) }
        if family.name.contains("seconds") { #expect(family.name.hasSuffix("_seconds") || family.name.hasSuffix("_seconds_total")) }
    }

    @Test func aNameMissingFromTheCatalogueIsStillServedWithoutHelp() {
        let registry = PrometheusCollectorRegistry()
        let factory = DocumentedMetricsFactory(registry: registry)
        Counter(label: "not_in_the_catalogue_total", factory: factory).increment()
        let scrape = ExpositionText(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        #expect(scrape.value("not_in_the_catalogue_total") == 1)
        #expect(scrape.help["not_in_the_catalogue_total"] == nil)
    }

    @Test func buildInfoIsOneWithTheVersion() {
        let scrape = Self.scrape()
        #expect(scrape.value("millimetric_relay_build_info", ["version": RelayVersion.current]) == 1)
    }

    @Test func aForgetCountsItselfAndTheEventsItPurged() {
        let registry = PrometheusCollectorRegistry()
        let metrics = RelayMetrics(factory: DocumentedMetricsFactory(registry: registry))
        metrics.committed(.stored(seq: 1, purged: nil))
        metrics.committed(.stored(seq: 2, purged: 3))
        metrics.committed(.stored(seq: 3, purged: 0))
        metrics.committed(.rejected(IngestRejection(code: .outboxFull, message: "full")))
        let scrape = ExpositionText(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        #expect(scrape.value("millimetric_relay_forgets_total") == 2)
        #expect(scrape.value("millimetric_relay_forget_purged_events_total") == 3)
    }
}
