import Logging
import NIOCore
import ServiceLifecycle
import SystemdSupport

/// The daemon's long-running parts as one service group: the order they start in is the order
/// they depend on each other, so graceful shutdown, which runs in reverse, stops the producers'
/// side before the outbox they write to.
extension RelayDaemon {
    func makeServiceGroup(
        writer: OutboxWriter, drainer: Drainer, ingest: IngestServer, http: HTTPIngestServer?,
        metricsEndpoint: MetricsServer.Endpoint?, group: any EventLoopGroup, metrics: RelayMetrics, logger: Logger
    ) throws -> ServiceGroup {
        let watchdog: WatchdogConfiguration?
        do {
            watchdog = try WatchdogConfiguration.fromEnvironment()
        } catch {
            throw RelayExit(.configuration, "watchdog: \(error)")
        }
        let systemd = SystemdService(
            watchdog: watchdog, writer: writer, drainer: drainer, eventLoop: group.next(), metrics: metrics, logger: logger)
        // Start order is dependency order; graceful shutdown runs in reverse: systemd hears
        // STOPPING first, ingest stops reading and acks, the drainer settles, the outbox closes.
        var services: [any Service] = [
            OutboxService(writer: writer), DrainerService(drainer: drainer), ingest,
            ReloadService(daemon: self, drainer: drainer, http: http, logger: logger),
        ]
        // After the outbox in start order, so it stops (and answers what it read) before it closes.
        if let http { services.insert(http, at: 3) }
        if let metricsEndpoint {
            services.append(makeMetricsServer(endpoint: metricsEndpoint, writer: writer, drainer: drainer, group: group, metrics: metrics, logger: logger))
        }
        services.append(systemd)
        return ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
    }

    /// `/metrics`, with the gauges that are read rather than counted (queue, upstream state,
    /// dead letters, process figures) refreshed before each scrape.
    private func makeMetricsServer(
        endpoint: MetricsServer.Endpoint, writer: OutboxWriter, drainer: Drainer, group: any EventLoopGroup,
        metrics: RelayMetrics, logger: Logger
    ) -> MetricsServer {
        let databasePath = configuration.databasePath
        let refresher = ScrapeRefresher(
            metrics: metrics, process: ProcessMetrics(), maximumBytes: configuration.maxOutboxBytes, logger: logger,
            snapshot: { writer.snapshot }, upstream: { drainer.current.state }, deadLetters: { try DeadLetterStore(databasePath: databasePath).count() })
        return MetricsServer(endpoint: endpoint, group: group, logger: logger, beforeScrape: { refresher.refresh() })
    }
}
