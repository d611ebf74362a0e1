import FoundationEssentials
import Glibc
import Logging
import Metrics
import Prometheus
import NIOCore
import NIOPosix

/// The phases of ``RelayDaemon/run(logger:)`` up to the services, in the order it calls them:
/// each one either hands back what the next needs or throws the ``RelayExit`` an operator
/// reads, and undoes what it started if it fails half-way.
extension RelayDaemon {
    /// The state directory's lock: one relay per outbox.
    func acquireStateDirectory() throws -> StateDirectoryLock {
        let acquired: StateDirectoryLock?
        do {
            acquired = try StateDirectoryLock.acquire(stateDirectory: configuration.stateDirectory, path: configuration.lockPath)
        } catch {
            throw RelayExit(.cannotCreate, error.description)
        }
        guard let lock = acquired else {
            throw RelayExit(.alreadyRunning, "another millimetric-relay holds the state directory \(configuration.stateDirectory) (lock \(configuration.lockPath)); stop it first or choose another state_dir")
        }
        return lock
    }

    /// Metrics go to Prometheus only when a listener is configured; the factory must be in
    /// place before the first metric is created, so this runs before anything makes one.
    func bootstrapMetrics() -> MetricsServer.Endpoint? {
        guard let listen = configuration.metricsListen, let (host, port) = ValueParsing.hostPort(listen) else { return nil }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(DocumentedMetricsFactory(registry: registry))
        return MetricsServer.Endpoint(registry: registry, host: host, port: port)
    }

    func openOutbox(metrics: RelayMetrics, commits: CommitListener, logger: Logger) throws -> OutboxWriter {
        do throws(OutboxError) {
            return try OutboxWriter(
                path: configuration.databasePath, synchronous: configuration.synchronous,
                maximumBytes: configuration.maxOutboxBytes, logger: logger, metrics: metrics,
                onCommit: { seq in commits.committed(seq) })
        } catch {
            // The state directory's lock is held, so no other relay can be behind this.
            throw RelayExit(outboxOpenFailure: error, path: configuration.databasePath)
        }
    }

    /// The Unix socket, bound (or taken from systemd) and accepting; on failure the outbox closes.
    func startIngest(
        inheritedDescriptor: CInt?, writer: OutboxWriter, group: any EventLoopGroup, metrics: RelayMetrics, logger: Logger
    ) async throws -> IngestServer {
        var settings = IngestServer.Configuration(socketPath: configuration.socketPath)
        settings.socketMode = mode_t(configuration.socketMode)
        settings.maximumLineBytes = configuration.maxLineBytes
        settings.maximumConnections = configuration.maxConnections
        settings.forgetPolicy = configuration.forgetPolicy
        settings.shutdownTimeout = TimeAmount(configuration.stopTimeout)
        settings.inheritedDescriptor = inheritedDescriptor
        let ingest = IngestServer(configuration: settings, writer: writer, group: group, metrics: metrics, logger: logger)
        do {
            try await ingest.start()
        } catch let error as IngestServer.StartError {
            writer.close()
            switch error {
            case .alreadyServed: throw RelayExit(.alreadyRunning, error.description)
            case .cannotBind: throw RelayExit(.configuration, error.description)
            }
        }
        return ingest
    }

    /// The HTTP listener, if `http_listen` is set or systemd passed its socket; nil otherwise.
    /// On failure the Unix socket stops and the outbox closes.
    func startHTTPIngest(
        inheritedDescriptor: CInt?, ingest: IngestServer, writer: OutboxWriter, group: any EventLoopGroup,
        metrics: RelayMetrics, logger: Logger
    ) async throws -> HTTPIngestServer? {
        // An HTTP socket from systemd (millimetric-relay-http.socket) turns the listener on and
        // takes the place of http_listen: systemd bound the address the unit names.
        var settings: HTTPIngestServer.Configuration
        if let descriptor = inheritedDescriptor {
            if let address = configuration.httpListen {
                logger.info("http_listen is ignored: systemd passed the HTTP socket", metadata: ["http.listen": "\(address)", "http.fd": "\(descriptor)"])
            }
            settings = HTTPIngestServer.Configuration(inheritedDescriptor: descriptor)
        } else if let address = configuration.httpListen {
            settings = HTTPIngestServer.Configuration(address: address)
        } else {
            return nil
        }
        settings.socketMode = mode_t(configuration.socketMode)
        settings.maximumConnections = configuration.maxConnections
        settings.shutdownTimeout = TimeAmount(configuration.stopTimeout)
        settings.requestTimeout = TimeAmount(configuration.httpRequestTimeout)
        let server = HTTPIngestServer(configuration: settings, key: key, writer: writer, group: group, metrics: metrics, logger: logger)
        do {
            try await server.start()
        } catch {
            await ingest.shutdown()
            writer.close()
            throw RelayExit(.configuration, "http_listen: \(error)")
        }
        return server
    }

    /// The drainer, told of every commit from now on and of the rows already queued, with its
    /// HTTP client set up (libcurl initialised); it sends once its service runs.
    func startDrainer(
        writer: OutboxWriter, commits: CommitListener, committedUpTo lastSeq: Int64, metrics: RelayMetrics, logger: Logger
    ) throws -> Drainer {
        var settings = Drainer.Settings(databasePath: configuration.databasePath)
        settings.flushInterval = configuration.flushInterval
        settings.maximumInFlight = configuration.maxInFlight
        settings.batchRate = configuration.batchRate
        settings.batchBurst = configuration.batchBurst
        settings.trackRate = configuration.trackRate
        settings.trackBurst = configuration.trackBurst
        settings.stopTimeout = configuration.stopTimeout
        let drainer = Drainer(settings: settings, writer: writer, metrics: metrics, logger: logger)
        commits.setListener { seq in drainer.rowsCommitted(upTo: seq) }
        drainer.rowsCommitted(upTo: lastSeq)
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
        return drainer
    }
}
