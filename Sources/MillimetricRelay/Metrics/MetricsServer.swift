import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves the metrics in Prometheus text format on `GET /metrics`, on a loopback address only
/// (`metrics_listen`, off by default): operators scrape it locally or through their agent.
///
/// Each scrape first runs `beforeScrape` (which brings the gauges up to date and may read the
/// database) on NIO's thread pool, never on an event loop, then answers with the registry's text.
final class MetricsServer: Service, Sendable {
    /// What is served and where: the registry the metrics factory writes to, made before the
    /// first metric, and the `metrics_listen` address.
    struct Endpoint: Sendable {
        var registry: PrometheusCollectorRegistry
        var host: String
        var port: Int
    }

    private let endpoint: Endpoint
    private let group: any EventLoopGroup
    private let beforeScrape: @Sendable () -> Void
    private let logger: Logger

    init(endpoint: Endpoint, group: any EventLoopGroup, logger: Logger, beforeScrape: @escaping @Sendable () -> Void = {}) {
        self.endpoint = endpoint
        self.group = group
        self.beforeScrape = beforeScrape
        self.logger = logger
    }

    func run() async throws {
        let registry = endpoint.registry
        let beforeScrape = self.beforeScrape
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry, beforeScrape: beforeScrape))
                }
            }
            .bind(host: endpoint.host, port: endpoint.port).get()
        // With port 0 the kernel picks a free port: the log line says which.
        logger.info("metrics listening", metadata: [
            "metrics.address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
            "metrics.port": "\(channel.localAddress?.port.map(String.init) ?? "?")",
        ])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// Answers `GET /metrics` with the registry's text exposition; anything else with 404.
private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let beforeScrape: @Sendable () -> Void
    private var path = ""

    init(registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () -> Void) {
        self.registry = registry
        self.beforeScrape = beforeScrape
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.uri
        case .body:
            break
        case .end:
            guard path == "/metrics" || path.hasPrefix("/metrics?") else {
                respond(status: .notFound, contentType: "text/plain", body: Array("not found; try /metrics\n".utf8), context: context)
                return
            }
            let registry = self.registry
            let beforeScrape = self.beforeScrape
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) { () -> [UInt8] in
                beforeScrape()
                return registry.emitToBuffer()
            }.whenComplete { result in
                let (handler, context) = loopBound.value
                switch result {
                case .success(let body):
                    handler.respond(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body, context: context)
                case .failure:
                    handler.respond(status: .serviceUnavailable, contentType: "text/plain", body: Array("shutting down\n".utf8), context: context)
                }
            }
        }
    }

    private func respond(status: HTTPResponseStatus, contentType: String, body: [UInt8], context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
