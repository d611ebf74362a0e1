import FoundationEssentials
import Glibc
import Logging
import Metrics
import Prometheus
import NIOCore
import NIOPosix
import ServiceLifecycle
import SystemdSupport
import UnixSignals

/// The `run` command: opens the outbox, serves the socket, drains to the API, talks to systemd,
/// and stops cleanly on SIGTERM/SIGINT (SPEC §8).
public struct RelayDaemon: Sendable {
    public var configuration: RelayConfiguration
    public var key: APIKey
    /// An explicit `--key-file`, kept so SIGHUP can reload from the same source.
    public var keyFileFlag: String?
    public var configFile: String?
    public var flags: [RelayConfiguration.Key: String]

    public init(configuration: RelayConfiguration, key: APIKey, keyFileFlag: String?, configFile: String?, flags: [RelayConfiguration.Key: String]) {
        self.configuration = configuration
        self.key = key
        self.keyFileFlag = keyFileFlag
        self.configFile = configFile
        self.flags = flags
    }

    /// Runs until SIGTERM/SIGINT. Throws ``RelayExit`` for the documented failures.
    public func run(logger: Logger) async throws {
        let configuration = self.configuration
        // Before the daemon's threads allocate: two malloc arenas, not eight per core
        // (MallocArenas says why; 0.8 MB less at the peak under the peer load, issue #11).
        MallocArenas.limit()
        // The peak of a relay's memory is start-up's, not the load's, unless start-up's code is
        // unmapped as it goes: each phase (the command line and configuration, opening the
        // outbox, binding, libcurl's initialisation) faults in code of its own that never runs
        // again, and together they were resident at once, 23 MB of the 23.8 MB peak under the
        // peer load. Released after each phase (StartupPages says why this loses nothing), the
        // highest point is one phase's (issue #11).
        StartupPages.release()
        // Trap SIGTERM/SIGINT from the first moment: the socket accepts (and acks) before the
        // service group installs its own handlers, and a stop in that window must still be a
        // graceful one, not death by signal.
        let earlySignals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let earlyStop = Task<Bool, Never> {
            for await _ in earlySignals { return true }
            return false
        }
        defer { earlyStop.cancel() }
        let acquired: StateDirectoryLock?
        do {
            acquired = try StateDirectoryLock.acquire(stateDirectory: configuration.stateDirectory, path: configuration.lockPath)
        } catch {
            throw RelayExit(.cannotCreate, error.description)
        }
        guard let lock = acquired else {
            throw RelayExit(.alreadyRunning, "another millimetric-relay holds the state directory \(configuration.stateDirectory) (lock \(configuration.lockPath)); stop it first or choose another state_dir")
        }
        // Metrics go to Prometheus only when a listener is configured; the factory must be in
        // place before the first metric is created.
        var metricsEndpoint: MetricsServer.Endpoint?
        if let listen = configuration.metricsListen, let (host, port) = ValueParsing.hostPort(listen) {
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(DocumentedMetricsFactory(registry: registry))
            metricsEndpoint = MetricsServer.Endpoint(registry: registry, host: host, port: port)
        }
        let metrics = RelayMetrics()
        let commits = CommitListener()
        let writer: OutboxWriter
        do throws(OutboxError) {
            writer = try OutboxWriter(
                path: configuration.databasePath, synchronous: configuration.synchronous,
                maximumBytes: configuration.maxOutboxBytes, logger: logger, metrics: metrics,
                onCommit: { seq in commits.committed(seq) })
        } catch {
            // The state directory's lock is held, so no other relay can be behind this.
            throw RelayExit(outboxOpenFailure: error, path: configuration.databasePath)
        }
        StartupPages.release()
        let snapshot = writer.snapshot
        logger.info("outbox open", metadata: [
            "outbox.path": "\(configuration.databasePath)", "outbox.events": "\(snapshot.queuedEvents)",
            "outbox.bytes": "\(snapshot.storedBytes)", "outbox.synchronous": "\(configuration.synchronous.rawValue)",
        ])

        // NIO's process-wide group, living as long as the process: one event loop, unless
        // NIO_SINGLETON_GROUP_LOOP_COUNT says otherwise (EventLoopCount says why, issue #11).
        EventLoopCount.limit()
        let group = MultiThreadedEventLoopGroup.singleton

        var ingestConfiguration = IngestServer.Configuration(socketPath: configuration.socketPath)
        ingestConfiguration.socketMode = mode_t(configuration.socketMode)
        ingestConfiguration.maximumLineBytes = configuration.maxLineBytes
        ingestConfiguration.maximumConnections = configuration.maxConnections
        ingestConfiguration.forgetPolicy = configuration.forgetPolicy
        ingestConfiguration.shutdownTimeout = .nanoseconds(Int64(configuration.stopTimeout.components.seconds) * 1_000_000_000 + configuration.stopTimeout.components.attoseconds / 1_000_000_000)
        let inherited = try SocketActivation.inheritedListeners(logger: logger)
        ingestConfiguration.inheritedDescriptor = inherited.ingest
        let ingest = IngestServer(configuration: ingestConfiguration, writer: writer, group: group, metrics: metrics, logger: logger)
        do {
            try await ingest.start()
        } catch let error as IngestServer.StartError {
            writer.close()
            switch error {
            case .alreadyServed: throw RelayExit(.alreadyRunning, error.description)
            case .cannotBind: throw RelayExit(.configuration, error.description)
            }
        }

        var http: HTTPIngestServer?
        // An HTTP socket from systemd (millimetric-relay-http.socket) turns the listener on and
        // takes the place of http_listen: systemd bound the address the unit names.
        let httpConfigurationBase: HTTPIngestServer.Configuration?
        if let descriptor = inherited.http {
            if let address = configuration.httpListen {
                logger.info("http_listen is ignored: systemd passed the HTTP socket", metadata: ["http.listen": "\(address)", "http.fd": "\(descriptor)"])
            }
            httpConfigurationBase = HTTPIngestServer.Configuration(inheritedDescriptor: descriptor)
        } else {
            httpConfigurationBase = configuration.httpListen.map { HTTPIngestServer.Configuration(address: $0) }
        }
        if var httpConfiguration = httpConfigurationBase {
            httpConfiguration.socketMode = mode_t(configuration.socketMode)
            httpConfiguration.maximumConnections = configuration.maxConnections
            httpConfiguration.shutdownTimeout = ingestConfiguration.shutdownTimeout
            httpConfiguration.requestTimeout = .nanoseconds(Int64(configuration.httpRequestTimeout.components.seconds) * 1_000_000_000 + configuration.httpRequestTimeout.components.attoseconds / 1_000_000_000)
            let server = HTTPIngestServer(configuration: httpConfiguration, key: key, writer: writer, group: group, metrics: metrics, logger: logger)
            do {
                try await server.start()
            } catch {
                await ingest.shutdown()
                writer.close()
                throw RelayExit(.configuration, "http_listen: \(error)")
            }
            http = server
        }

        StartupPages.release()
        var drainerSettings = Drainer.Settings(databasePath: configuration.databasePath)
        drainerSettings.flushInterval = configuration.flushInterval
        drainerSettings.maximumInFlight = configuration.maxInFlight
        drainerSettings.batchRate = configuration.batchRate
        drainerSettings.batchBurst = configuration.batchBurst
        drainerSettings.trackRate = configuration.trackRate
        drainerSettings.trackBurst = configuration.trackBurst
        drainerSettings.stopTimeout = configuration.stopTimeout
        let drainer = Drainer(settings: drainerSettings, writer: writer, metrics: metrics, logger: logger)
        commits.setListener { seq in drainer.rowsCommitted(upTo: seq) }
        drainer.rowsCommitted(upTo: snapshot.lastSeq)
        do {
            try drainer.start(baseURL: configuration.host, key: key, clientConfiguration: .init(
                userAgent: "millimetric-relay/\(RelayVersion.current)",
                connectTimeout: .seconds(10),
                totalTimeout: configuration.requestTimeout,
                caFile: configuration.caFile,
                proxy: configuration.proxy))
        } catch {
            throw RelayExit(.configuration, "cannot set up the HTTP client: \(error)")
        }
        #if MILLIMETRIC_RELAY_TEST_HOOKS
        if let delay = TestHooks.stallDrainerAfter {
            logger.warning("test hook: the drainer will stall on purpose")
            DetachedThread.start {
                usleep(UInt32(delay * 1_000_000))
                drainer.stallForTesting()
            }
        }
        #endif

        var metricsServer: MetricsServer?
        if let metricsEndpoint {
            let databasePath = configuration.databasePath
            let refresher = ScrapeRefresher(
                metrics: metrics, process: ProcessMetrics(), maximumBytes: configuration.maxOutboxBytes, logger: logger,
                snapshot: { writer.snapshot }, upstream: { drainer.current.state }, deadLetters: { try DeadLetterStore(databasePath: databasePath).count() })
            metricsServer = MetricsServer(endpoint: metricsEndpoint, group: group, logger: logger, beforeScrape: { refresher.refresh() })
        }

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
        if let metricsServer { services.append(metricsServer) }
        services.append(systemd)
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        let forwardEarlyStop = Task {
            if await earlyStop.value { await serviceGroup.triggerGracefulShutdown() }
        }
        defer { forwardEarlyStop.cancel() }
        // Start-up is over: every listener is bound, the outbox open, libcurl initialised. The
        // code and read-only data it faulted in need not stay mapped (about 14 MB of the binary's
        // and its libraries' file pages at rest, issue #11); what runs again faults back in.
        // StartupPages says why this loses nothing.
        if let released = StartupPages.release() {
            logger.debug("unmapped start-up code pages", metadata: ["memory.segments": "\(released.segments)", "memory.bytes": "\(released.bytes)"])
        }
        // The services' own start-up (the event loops' first turns, the drainer's and the service
        // group's set-up) runs after that and faults in code of its own that will not run again:
        // 2.4 MB of the binary's pages at rest. Once more when they have settled; what the load
        // runs comes back a minor fault at a time (issue #11).
        let settledRelease = Task.detached {
            try? await Task.sleep(for: StartupPages.settleDelay)
            guard !Task.isCancelled else { return }
            StartupPages.release()
        }
        defer { settledRelease.cancel() }
        try await serviceGroup.run()
        withExtendedLifetime(lock) {}
        let final = writer.snapshot
        logger.info("stopped", metadata: [
            "outbox.commits": "\(final.commits)", "outbox.inserted": "\(final.insertedRows)", "outbox.events": "\(final.queuedEvents)",
        ])
    }
}
