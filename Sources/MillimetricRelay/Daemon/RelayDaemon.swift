import Logging
import NIOPosix
import ServiceLifecycle
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
    ///
    /// Start-up is a sequence of phases in dependency order (each in `RelayDaemon+Startup.swift`
    /// or `RelayDaemon+Services.swift`); between them start-up's code is unmapped as it goes.
    public func run(logger: Logger) async throws {
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
        let lock = try acquireStateDirectory()
        let metricsEndpoint = bootstrapMetrics()
        let metrics = RelayMetrics()
        let commits = CommitListener()
        let writer = try openOutbox(metrics: metrics, commits: commits, logger: logger)
        StartupPages.release()
        let snapshot = writer.snapshot
        logger.info("outbox open", metadata: [
            "outbox.path": "\(configuration.databasePath)", "outbox.events": "\(snapshot.queuedEvents)",
            "outbox.bytes": "\(snapshot.storedBytes)", "outbox.synchronous": "\(configuration.synchronous.rawValue)",
        ])

        // NIO's process-wide group: one event loop per core, living as long as the process.
        let group = MultiThreadedEventLoopGroup.singleton
        let inherited = try SocketActivation.inheritedListeners(logger: logger)
        let ingest = try await startIngest(inheritedDescriptor: inherited.ingest, writer: writer, group: group, metrics: metrics, logger: logger)
        let http = try await startHTTPIngest(inheritedDescriptor: inherited.http, ingest: ingest, writer: writer, group: group, metrics: metrics, logger: logger)

        StartupPages.release()
        let drainer = try startDrainer(writer: writer, commits: commits, committedUpTo: snapshot.lastSeq, metrics: metrics, logger: logger)
        let serviceGroup = try makeServiceGroup(
            writer: writer, drainer: drainer, ingest: ingest, http: http, metricsEndpoint: metricsEndpoint,
            group: group, metrics: metrics, logger: logger)
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
