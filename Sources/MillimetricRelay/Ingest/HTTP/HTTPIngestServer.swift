import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The API's own HTTP, served locally (`http_listen`, SPEC §4b): apps that already call
/// Millimetric point `MILLIMETRIC_HOST` here and their events become durable.
///
/// It runs on the same event loop group and hands events to the same ``OutboxWriter`` as the
/// socket. ``start()`` binds before the service group runs, so `READY=1` means it accepts. On
/// graceful shutdown it stops accepting; each connection reads no more, answers every request it
/// has read (the commits they wait for still happen) and closes.
public final class HTTPIngestServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// Where the listener comes from.
        public enum Listener: Sendable, Equatable {
            /// Bind `http_listen` (and remove a Unix socket file at stop).
            case bind(HTTPListenAddress)
            /// Serve a listening socket systemd passed (millimetric-relay-http.socket); never unlinked.
            case inherited(descriptor: Int32)
        }

        public var listener: Listener
        /// Permission bits of a Unix socket file the relay creates.
        public var socketMode: mode_t = 0o660
        public var maximumConnections: Int = 1_024
        /// How long a request's head and body may take to arrive (and an idle keep-alive
        /// connection may stay open).
        public var requestTimeout: TimeAmount = .seconds(30)
        public var shutdownTimeout: TimeAmount = .seconds(5)

        public init(address: HTTPListenAddress) {
            self.listener = .bind(address)
        }

        public init(inheritedDescriptor: Int32) {
            self.listener = .inherited(descriptor: inheritedDescriptor)
        }
    }

    private let configuration: Configuration
    private let writer: OutboxWriter
    private let authenticator: HTTPBearerAuthenticator
    private let metrics: RelayMetrics
    private let logger: Logger
    private let group: any EventLoopGroup
    private let serverChannel = Mutex<(any Channel)?>(nil)
    private let connections: OpenConnections
    private let accepting = Atomic<Bool>(false)

    public init(configuration: Configuration, key: APIKey, writer: OutboxWriter, group: any EventLoopGroup, metrics: RelayMetrics, logger: Logger) {
        self.configuration = configuration
        self.connections = OpenConnections(limit: configuration.maximumConnections)
        self.authenticator = HTTPBearerAuthenticator(key: key)
        self.writer = writer
        self.group = group
        self.metrics = metrics
        self.logger = logger
    }

    /// The key requests must carry, after a reload (SIGHUP).
    public func reload(key: APIKey) {
        authenticator.replace(key: key)
    }

    /// The number of open HTTP connections.
    public var connectionCount: Int { connections.count }

    /// Binds the listener. After this returns, clients can connect.
    public func start() async throws {
        let shared = HTTPIngestHandler.Shared(
            requestTimeout: configuration.requestTimeout, writer: writer, authenticator: authenticator,
            isAccepting: { [weak self] in self?.accepting.load(ordering: .relaxed) ?? false }, metrics: metrics, logger: logger)
        let logger = self.logger
        let maximumConnections = configuration.maximumConnections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [weak self] channel in
                guard let self else { return channel.close() }
                guard self.connections.admit(channel) else {
                    logger.warning("refusing an HTTP connection: max connections reached", metadata: ["http.max_connections": "\(maximumConnections)"])
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // No pipelining assistance: the handler serves pipelined requests concurrently
                    // and answers them in order itself, so they share group commits.
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try sync.addHandler(HTTPIngestHandler(shared))
                }
            }

        // Accepting before the listener exists: a request can arrive as soon as it does (at once
        // for one waiting in an inherited socket's backlog), and was refused shutting_down when
        // it beat this flag. If binding fails, start throws and nothing is served.
        accepting.store(true, ordering: .relaxed)
        let channel: any Channel
        switch configuration.listener {
        case .inherited(let descriptor):
            do {
                channel = try await bootstrap.withBoundSocket(descriptor).get()
            } catch {
                throw IngestServer.StartError.cannotBind(path: "inherited fd \(descriptor)", reason: "\(error)")
            }
        case .bind(.tcp(let host, let port)):
            do {
                channel = try await bootstrap.bind(host: host, port: port).get()
            } catch {
                throw IngestServer.StartError.cannotBind(path: HTTPListenAddress.tcp(host: host, port: port).description, reason: "\(error)")
            }
        case .bind(.unix(let path)):
            try IngestServer.removeStaleSocket(at: path)
            do {
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
            } catch {
                throw IngestServer.StartError.cannotBind(path: path, reason: "\(error)")
            }
            if chmod(path, configuration.socketMode) != 0 {
                logger.warning("could not set the HTTP socket's mode", metadata: ["http.listen": "\(path)", "error": "\(String(cString: strerror(errno)))"])
            }
        }
        serverChannel.withLock { $0 = channel }
        var metadata: Logger.Metadata = ["http.listen": "\(Self.describe(configuration.listener, channel))"]
        if case .inherited(let descriptor) = configuration.listener {
            metadata["http.fd"] = "\(descriptor)"
            logger.info("serving the API's HTTP on the socket inherited from systemd", metadata: metadata)
        } else {
            logger.info("serving the API's HTTP", metadata: metadata)
        }
    }

    /// The address as bound (the real port when 0 was asked for; what systemd bound for an
    /// inherited socket).
    private static func describe(_ listener: Configuration.Listener, _ channel: any Channel) -> String {
        switch listener {
        case .bind(.tcp(let host, _)):
            if let port = channel.localAddress?.port { return HTTPListenAddress.tcp(host: host, port: port).description }
        case .bind(let address):
            return address.description
        case .inherited:
            break
        }
        switch channel.localAddress {
        case .v4(let address)?: return HTTPListenAddress.tcp(host: address.host, port: channel.localAddress?.port ?? 0).description
        case .v6(let address)?: return HTTPListenAddress.tcp(host: address.host, port: channel.localAddress?.port ?? 0).description
        case .unixDomainSocket?: return channel.localAddress?.pathname.map { "unix:\($0)" } ?? "unix socket"
        case nil: return "unknown"
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops accepting, lets every connection finish its current request, waits for them
    /// (bounded), and removes the socket file it created.
    public func shutdown() async {
        accepting.store(false, ordering: .relaxed)
        #if MILLIMETRIC_RELAY_TEST_HOOKS
        if let hold = TestHooks.holdHTTPStop, serverChannel.withLock({ $0 != nil }) {
            logger.warning("test hook: holding the HTTP listener open while stopping", metadata: ["http.hold_seconds": "\(hold)"])
            try? await Task.sleep(for: .milliseconds(Int(hold * 1000)))
        }
        #endif
        guard let channel = serverChannel.withLock({ channel -> (any Channel)? in
            defer { channel = nil }
            return channel
        }) else { return }
        try? await channel.close()
        if case .bind(.unix(let path)) = configuration.listener { unlink(path) }
        await connections.quiesceAndClose(timeout: configuration.shutdownTimeout)
        logger.debug("http ingest stopped")
    }
}
