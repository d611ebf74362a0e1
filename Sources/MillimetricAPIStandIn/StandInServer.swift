import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening HTTP server: an event loop group and one bound channel.
final class StandInServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Where the server listens, as `HOST:PORT` (`[::1]:PORT` for IPv6).
    let listeningAddress: String

    /// Binds to `address` and `port` (0: any free port) and starts serving.
    ///
    /// One event loop per core, at most two: the relay talks over few connections, and the
    /// stand-in shares the machine with the relay and the tests.
    init(address: SocketAddress, port: Int, api: StandInAPI, logger: Logger) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: min(System.coreCount, 2))
        var bindAddress = address
        bindAddress.port = port
        do {
            let channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                            withPipeliningAssistance: true,
                            withErrorHandling: true
                        )
                        try channel.pipeline.syncOperations.addHandler(StandInHTTPHandler(api: api, logger: logger))
                    }
                }
                .bind(to: bindAddress)
                .wait()
            self.group = group
            self.channel = channel
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        let local = self.channel.localAddress
        let host = local?.ipAddress ?? "127.0.0.1"
        let boundPort = local?.port ?? port
        if case .v6 = local {
            self.listeningAddress = "[\(host)]:\(boundPort)"
        } else {
            self.listeningAddress = "\(host):\(boundPort)"
        }
    }

    /// Stops accepting; ``waitUntilClosed()`` then returns.
    func close() {
        self.channel.close(promise: nil)
    }

    /// Blocks until the listening channel closed, then shuts the event loops down, closing every
    /// open connection.
    func waitUntilClosed() throws {
        try self.channel.closeFuture.wait()
        try self.group.syncShutdownGracefully()
    }
}
