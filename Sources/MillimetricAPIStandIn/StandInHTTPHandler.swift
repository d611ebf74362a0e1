import Logging
import NIOCore
import NIOHTTP1

/// Turns HTTP/1.1 requests into calls on ``StandInAPI`` and writes the answers.
///
/// It collects request bodies itself instead of using `NIOHTTPServerRequestAggregator`, for two
/// reasons: an oversized body must get the API's own 413 JSON while it is still arriving, without
/// being buffered; and `Expect: 100-continue`, which libcurl sends with large POSTs, must be
/// answered, or curl waits a second before every batch. Keep-alive and pipelining are handled by
/// NIO's `HTTPServerPipelineHandler` in front of it, which holds the next request back until the
/// current answer is written, so answers delayed by `latency_ms` stay in order.
final class StandInHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// Answered 413 before the body ended; the rest of the body is skipped, then the
        /// connection is closed.
        case discarding
        case answering
    }

    private let api: StandInAPI
    private let logger: Logger
    private var state = State.idle
    private var isActive = true

    init(api: StandInAPI, logger: Logger) {
        self.api = api
        self.logger = logger
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isActive = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.receiveHead(head, context: context)
        case .body(var chunk):
            guard case .receiving(let head, var buffer) = self.state else { return }
            self.state = .idle  // drop the state's reference so appending does not copy the buffer
            if buffer.readableBytes + chunk.readableBytes > self.api.maxBodyBytes {
                self.state = .discarding
                self.answerOversized(head, context: context, closeNow: false)
            } else {
                buffer.writeBuffer(&chunk)
                self.state = .receiving(head, buffer)
            }
        case .end:
            switch self.state {
            case .receiving(let head, let buffer):
                self.state = .answering
                self.process(head, body: buffer, context: context)
            case .discarding:
                self.state = .idle
                context.close(promise: nil)
            case .idle, .answering:
                break
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("connection error", metadata: ["error.message": "\(error)"])
        context.close(promise: nil)
    }

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let expectsContinue = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
        let declaredLength = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let declaredLength, declaredLength > self.api.maxBodyBytes {
            // With Expect: 100-continue the client waits and sends no body: close right away.
            // Otherwise the body follows and is skipped before closing, so the client reads the
            // 413 instead of a connection reset.
            self.state = .discarding
            self.answerOversized(head, context: context, closeNow: expectsContinue)
            return
        }
        if expectsContinue {
            let interim = HTTPResponseHead(version: head.version, status: .continue)
            context.writeAndFlush(self.wrapOutboundOut(.head(interim)), promise: nil)
        }
        let capacity = min(declaredLength ?? 0, self.api.maxBodyBytes)
        self.state = .receiving(head, context.channel.allocator.buffer(capacity: capacity))
    }

    private func answerOversized(_ head: HTTPRequestHead, context: ChannelHandlerContext, closeNow: Bool) {
        let request = APIRequest(method: head.method, uri: head.uri, headers: [:], body: [], receivedMilliseconds: 0)
        let (response, ticket) = self.api.rejectOversized(
            path: request.path,
            receivedMilliseconds: WallClock.nowMilliseconds()
        )
        self.write(response, for: head, ticket: ticket, closeAfter: closeNow, context: context)
    }

    private func process(_ head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        let request = APIRequest(
            method: head.method,
            uri: head.uri,
            headers: head.headers,
            body: Array(body.readableBytesView),
            receivedMilliseconds: WallClock.nowMilliseconds()
        )
        switch self.api.handle(request) {
        case .answer(let response, let delay, let ticket):
            let closeAfter = !head.isKeepAlive || response.closesConnection
            if delay > .zero {
                context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    self.write(response, for: head, ticket: ticket, closeAfter: closeAfter, context: context)
                }
            } else {
                self.write(response, for: head, ticket: ticket, closeAfter: closeAfter, context: context)
            }
        case .drop(let ticket):
            self.api.finish(ticket, status: 0)
            self.logger.debug("dropped connection", metadata: ["http.path": "\(request.path)"])
            self.state = .idle
            context.close(promise: nil)
        }
    }

    private func write(
        _ response: APIResponse,
        for head: HTTPRequestHead,
        ticket: LogTicket?,
        closeAfter: Bool,
        context: ChannelHandlerContext
    ) {
        if case .answering = self.state { self.state = .idle }
        self.api.finish(ticket, status: response.status)
        self.logger.debug(
            "answered",
            metadata: [
                "http.method": "\(head.method)", "http.path": "\(head.uri)", "http.status": "\(response.status)",
            ]
        )
        guard self.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.readableBytes))
        for (name, value) in response.extraHeaders {
            headers.add(name: name, value: value)
        }
        if closeAfter || response.closesConnection {
            headers.add(name: "Connection", value: "close")
        }
        let responseHead = HTTPResponseHead(
            version: head.version,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        let written = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
        if closeAfter {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
