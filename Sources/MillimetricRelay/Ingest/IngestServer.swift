import FoundationEssentials
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The Unix socket producers write to (SPEC §4), served on swift-nio.
///
/// ``start()`` binds (or adopts the socket systemd passed in) before the service group runs, so
/// that `READY=1` is only sent once the socket accepts connections. On graceful shutdown it
/// stops accepting, lets every connection ack or refuse what it has already read, and closes
/// them, within `shutdownTimeout`.
public final class IngestServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var socketPath: String
        /// A listening socket inherited from systemd (`LISTEN_FDS`); never unlinked.
        public var inheritedDescriptor: Int32?
        /// Permission bits of a socket file the relay creates.
        public var socketMode: mode_t = 0o660
        public var maximumLineBytes: Int = 65_536
        public var maximumConnections: Int = 1_024
        /// How long a connection may sit in the middle of a line before it is closed.
        public var stalledLineTimeout: TimeAmount = .seconds(30)
        /// Lines read but not yet acked that each connection may always hold, however busy
        /// the others are: its fair share of ``maximumUnackedLines``, so that none starves.
        public var maximumUnackedLinesPerConnection: Int = 256
        /// Lines read but not yet acked, across all connections, past which a connection
        /// holding its share already pauses reading (``UnackedLineBudget``). Lines past it wait
        /// in the sockets' kernel buffers, not in the relay's heap. A per-connection cap of
        /// 2,048 let four producers with windows of 1,000 lines hold all 4,000 validated events
        /// (2.4 MB with their warnings and arrays) at once, the largest part of the peak heap;
        /// a cap of 384 bounded that but cost one pipelining client a third of its ingest
        /// rate. Shared, one client alone reads as far ahead as the whole budget (1.3 x its
        /// ingest at 384), and four together hold at most 1,024 plus a read each: their peak
        /// under the peer load is where it was at 384 each. 1,536 with shares of 384 held more
        /// (+0.5 MB at the peak): more lines held on average, and a read past the budget
        /// brought up to 256 KiB of lines per connection; since round 8 one read of at most
        /// 16 KiB (``IngestServer/readsPerCycle``; issue #11, README "Footprint").
        public var maximumUnackedLines: Int = 1_024
        public var forgetPolicy: ForgetPolicy = .default
        public var shutdownTimeout: TimeAmount = .seconds(5)

        public init(socketPath: String) {
            self.socketPath = socketPath
        }
    }

    /// Why the socket could not be served.
    public enum StartError: Error, CustomStringConvertible {
        /// A live process answers on the socket path (exit 75).
        case alreadyServed(path: String)
        case cannotBind(path: String, reason: String)

        public var description: String {
            switch self {
            case .alreadyServed(let path):
                "another process already serves \(path); stop it first or choose another socket_path"
            case .cannotBind(let path, let reason):
                "cannot listen on \(path): \(reason)"
            }
        }
    }

    private let configuration: Configuration
    private let writer: OutboxWriter
    private let metrics: RelayMetrics
    private let logger: Logger
    private let group: any EventLoopGroup
    private let state = Mutex<State>(State())
    private let connections: OpenConnections

    private struct State {
        var serverChannel: (any Channel)?
        var createdSocketFile = false
    }

    public init(configuration: Configuration, writer: OutboxWriter, group: any EventLoopGroup, metrics: RelayMetrics, logger: Logger) {
        self.configuration = configuration
        self.connections = OpenConnections(limit: configuration.maximumConnections) { metrics.ingestConnections.record($0) }
        self.writer = writer
        self.group = group
        self.metrics = metrics
        self.logger = logger
    }

    /// The number of open producer connections.
    public var connectionCount: Int { connections.count }

    /// Socket reads per read cycle of a live producer connection. The unacked-line budget is checked
    /// before a cycle, not per line, so one cycle's bytes may land past it: at 4 reads of up to
    /// 64 KiB that was up to 256 KiB (about 600 validated events) per connection. One read of at
    /// most ``maximumReadBytes`` bounds it at 16 KiB (about 38 lines of the benchmark's): under
    /// the peer load the peak fell by 0.8 MB (means of 6 alternating runs), ingest within the
    /// noise (issue #11, README "Footprint", round 8).
    static let readsPerCycle = 1

    /// The largest socket read of a producer connection (the read buffer's size). It was 16 KiB
    /// growing to 64 KiB (64 to 256 before round 5): a buffer also stays allocated while a
    /// partial line in it waits for its end.
    static let maximumReadBytes = 16_384

    /// Socket reads per read cycle of a backfill connection (after its hello, ``IngestHello``):
    /// the live shape's one read of 16 KiB cost `import` 0.93x its events/s (relay CPU per
    /// imported line 7.19 -> 8.34 us, a read cycle and its wake-ups per 38 lines), while the few
    /// lines past the budget it saves are nothing beside the 8,192 a backfill connection may hold
    /// anyway (``IngestConnectionHandler/backfillMaximumUnackedLines``). One such connection may
    /// so bring up to 4 x 64 KiB past its cap, as every connection could before round 8 (issue #16).
    static let backfillReadsPerCycle = 4

    /// The largest socket read of a backfill connection; the buffer starts at the live
    /// ``maximumReadBytes`` and grows to this while the reads fill it (issue #16).
    static let backfillMaximumReadBytes = 65_536

    /// The read buffer's allocator for reads of up to `maximum` bytes.
    static func readAllocator(maximum: Int) -> AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: maximumReadBytes, maximum: maximum)
    }

    /// Binds the socket (or adopts the inherited one). After this returns, clients can connect.
    public func start() async throws {
        let settings = IngestConnectionHandler.Settings(
            maximumLineBytes: configuration.maximumLineBytes,
            maximumUnackedLines: configuration.maximumUnackedLinesPerConnection,
            forgetPolicy: configuration.forgetPolicy)
        let budget = UnackedLineBudget(total: max(configuration.maximumUnackedLines, configuration.maximumUnackedLinesPerConnection))
        let writer = self.writer
        let metrics = self.metrics
        let logger = self.logger
        let timeout = configuration.stalledLineTimeout
        let maximumConnections = configuration.maximumConnections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
            .childChannelOption(.maxMessagesPerRead, value: UInt(Self.readsPerCycle))
            .childChannelOption(.recvAllocator, value: Self.readAllocator(maximum: Self.maximumReadBytes))
            .childChannelInitializer { [weak self] channel in
                guard let self else { return channel.close() }
                guard self.connections.admit(channel) else {
                    logger.warning("refusing a connection: max connections reached", metadata: ["ingest.max_connections": "\(maximumConnections)"])
                    return channel.close()
                }
                metrics.ingestConnectionsAccepted.increment()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: timeout),
                        IngestConnectionHandler(settings: settings, budget: budget, writer: writer, metrics: metrics, logger: logger),
                    ])
                }
            }

        let channel: any Channel
        if let descriptor = configuration.inheritedDescriptor {
            channel = try await bootstrap.withBoundSocket(descriptor).get()
            logger.info("serving the socket inherited from systemd", metadata: ["ingest.fd": "\(descriptor)"])
        } else {
            let path = configuration.socketPath
            try Self.removeStaleSocket(at: path)
            do {
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
            } catch {
                throw StartError.cannotBind(path: path, reason: "\(error)")
            }
            if chmod(path, configuration.socketMode) != 0 {
                logger.warning("could not set the socket's mode", metadata: ["ingest.socket": "\(path)", "error": "\(String(cString: strerror(errno)))"])
            }
            state.withLock { $0.createdSocketFile = true }
            logger.info("listening", metadata: ["ingest.socket": "\(path)"])
        }
        state.withLock { $0.serverChannel = channel }
    }

    /// A socket file left by a process that died is replaced; one that a live process still
    /// answers on is not (SPEC §2, exit 75).
    static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw StartError.cannotBind(path: path, reason: "a file that is not a socket is in the way; remove it or choose another socket_path")
        }
        if SocketProbe.isServed(path: path) {
            throw StartError.alreadyServed(path: path)
        }
        unlink(path)
    }

    public func run() async throws {
        // Serve until graceful shutdown, then drain the connections.
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops accepting, asks every connection to finish, waits for them (bounded), and removes
    /// the socket file it created.
    public func shutdown() async {
        guard let channel = state.withLock({ state -> (any Channel)? in
            defer { state.serverChannel = nil }
            return state.serverChannel
        }) else { return }
        try? await channel.close()
        if state.withLock({ $0.createdSocketFile }) {
            unlink(configuration.socketPath)
        }
        await connections.quiesceAndClose(timeout: configuration.shutdownTimeout)
        logger.debug("ingest stopped")
    }
}
