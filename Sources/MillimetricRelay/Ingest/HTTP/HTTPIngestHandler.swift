import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Serves the API's own endpoints on one HTTP connection: reads a request (its body bounded
/// before it is buffered), authenticates it, validates its events with the socket's
/// ``EventValidator``, hands them to the ``OutboxWriter`` and answers only once they are
/// committed, in the API's shape (SPEC §4b).
///
/// One request at a time: NIO's `HTTPServerPipelineHandler` in front holds pipelined requests
/// back until the previous answer is written, so answers leave in request order.
/// Slowloris: the head and body of a request must arrive within `requestTimeout` of the
/// connection becoming idle; an idle keep-alive connection is closed after the same time.
final class HTTPIngestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Settings: Sendable {
        var requestTimeout: TimeAmount
    }

    private enum State {
        /// Waiting for a request's head.
        case idle
        /// Reading a request's body.
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The request was answered before its body was read (413); the rest is ignored and
        /// the connection closes after the answer.
        case refused
        /// Waiting for the commit, or writing the answer.
        case answering
    }

    private let settings: Settings
    private let writer: OutboxWriter
    private let authenticator: HTTPBearerAuthenticator
    private let isAccepting: @Sendable () -> Bool
    private let metrics: RelayMetrics
    private let logger: Logger
    private var validator = EventValidator()
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(
        settings: Settings, writer: OutboxWriter, authenticator: HTTPBearerAuthenticator,
        isAccepting: @escaping @Sendable () -> Bool, metrics: RelayMetrics, logger: Logger
    ) {
        self.settings = settings
        self.writer = writer
        self.authenticator = authenticator
        self.isAccepting = isAccepting
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("http connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            begin(head, context: context)
        case (.body(var chunk), .receiving(let head, var body)):
            // The limit holds for what is buffered: a chunked body is refused as soon as its
            // chunks add up to more than the API takes.
            guard body.readableBytes + chunk.readableBytes <= HTTPIngestLimits.maximumBodyBytes else {
                refuseEarly(head, .payloadTooLarge, context: context)
                return
            }
            state = .answering  // let go of `body`'s storage while it grows (no copy)
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            deadline?.cancel()
            deadline = nil
            state = .answering
            handle(head, body: body, context: context)
        case (_, .refused):
            break
        default:
            // The pipeline handler delivers one request at a time; anything else is a bug.
            logger.error("unexpected HTTP request part; closing the connection")
            context.close(promise: nil)
        }
    }

    // MARK: - The request

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > HTTPIngestLimits.maximumBodyBytes {
            refuseEarly(head, .payloadTooLarge, context: context)
            return
        }
        state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            // curl waits (1 s) for this before sending a body over 1 KB.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
    }

    /// Answers before the body is read, then closes: the body is never buffered.
    private func refuseEarly(_ head: HTTPRequestHead, _ error: HTTPAPIError, context: ChannelHandlerContext) {
        state = .refused
        deadline?.cancel()
        deadline = nil
        respond(head, route: HTTPRoute(target: head.uri), error: error, keepAlive: false, context: context)
    }

    private func handle(_ head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        guard let route = HTTPRoute(target: head.uri) else {
            return respond(head, route: nil, error: .notFound(head.uri), context: context)
        }
        guard head.method == route.method else {
            return respond(head, route: route, error: .methodNotAllowed(route), extraHeaders: [("allow", route.method.rawValue)], context: context)
        }
        if route == .healthz {
            let healthy = isAccepting() && writer.isOpen
            var buffer = context.channel.allocator.buffer(capacity: 64)
            if healthy {
                buffer.writeStaticString(#"{"ok":true}"#)
                return respond(head, route: route, status: .ok, body: buffer, context: context)
            }
            return respond(head, route: route, error: .shuttingDown, context: context)
        }
        if let error = authenticator.check(head.headers, route: route) {
            return respond(head, route: route, error: error, context: context)
        }
        guard isAccepting() else {
            return respond(head, route: route, error: .shuttingDown, context: context)
        }

        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let stamp = RFC3339.format(unixMilliseconds: receivedAt)
        var events: [ValidatedEvent] = []
        if let kind = route.eventKind {
            let result = body.withUnsafeReadableBytes { validator.validate($0, receivedTimestamp: stamp, fixedKind: kind) }
            switch result {
            case .success(let event): events = [event]
            case .failure(let rejection): return respond(head, route: route, error: .invalidPayload(Self.aboutTheBody(rejection.message)), context: context)
            }
        } else {
            let split = body.withUnsafeReadableBytes { HTTPBatchBody.events(in: $0) }
            let members: [[UInt8]]
            switch split {
            case .success(let list): members = list
            case .failure(let error): return respond(head, route: route, error: error, context: context)
            }
            events.reserveCapacity(members.count)
            for (index, member) in members.enumerated() {
                let result = member.withUnsafeBytes { validator.validate($0, receivedTimestamp: stamp, fixedKind: .track) }
                switch result {
                case .success(let event): events.append(event)
                case .failure(let rejection):
                    // All or nothing: one bad event refuses the whole batch, naming it.
                    let message = rejection.message.replacingOccurrences(of: "the line", with: "the event")
                        .replacingOccurrences(of: "end of line", with: "end of the event")
                    return respond(head, route: route, error: .invalidPayload("events[\(index)]: \(message)"), context: context)
                }
            }
        }

        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let metrics = self.metrics
        let submitted = events
        let completion: @Sendable ([OutboxWriter.Outcome]) -> Void = { outcomes in
            for outcome in outcomes { metrics.committed(outcome) }
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.committed(head, route: route, events: submitted, outcomes: outcomes, context: context)
            }
        }
        if route == .batch {
            writer.submitAllOrNothing(events, receivedAt: receivedAt, completion: completion)
        } else {
            writer.submit(events, receivedAt: receivedAt, completion: completion)
        }
    }

    /// The validator speaks of lines (the socket's unit); over HTTP the unit is the body.
    static func aboutTheBody(_ message: String) -> String {
        message.replacingOccurrences(of: "the line", with: "the body").replacingOccurrences(of: "end of line", with: "end of the body")
    }

    private func committed(_ head: HTTPRequestHead, route: HTTPRoute, events: [ValidatedEvent], outcomes: [OutboxWriter.Outcome], context: ChannelHandlerContext) {
        for outcome in outcomes {
            if case .rejected(let rejection) = outcome {
                return respond(head, route: route, error: HTTPAPIError(rejection), context: context)
            }
        }
        metrics.eventsAcked.increment(by: events.count)
        var buffer = context.channel.allocator.buffer(capacity: 32 + events.count * 40)
        if route == .batch {
            buffer.writeStaticString(#"{"ok":true,"event_ids":["#)
            for index in events.indices {
                if index > 0 { buffer.writeStaticString(",") }
                events[index].withBytes(at: events[index].eventIDLiteralLocation) { _ = buffer.writeBytes($0) }
            }
            buffer.writeStaticString("]}")
        } else {
            buffer.writeStaticString(#"{"ok":true,"event_id":"#)
            events[0].withBytes(at: events[0].eventIDLiteralLocation) { _ = buffer.writeBytes($0) }
            if case .stored(_, let purged?) = outcomes[0] {
                buffer.writeStaticString(#","purged":"#)
                buffer.writeString(String(purged))
            }
            buffer.writeStaticString("}")
        }
        respond(head, route: route, status: .accepted, body: buffer, context: context)
    }

    // MARK: - Answers

    private func respond(
        _ head: HTTPRequestHead, route: HTTPRoute?, error: HTTPAPIError, extraHeaders: [(String, String)] = [], keepAlive: Bool = true,
        context: ChannelHandlerContext
    ) {
        var headers = extraHeaders
        if let seconds = error.retryAfter { headers.append(("retry-after", String(seconds))) }
        respond(head, route: route, status: error.status, body: error.body(allocator: context.channel.allocator), extraHeaders: headers, keepAlive: keepAlive, context: context)
    }

    private func respond(
        _ head: HTTPRequestHead, route: HTTPRoute?, status: HTTPResponseStatus, body: ByteBuffer, extraHeaders: [(String, String)] = [],
        keepAlive: Bool = true, context: ChannelHandlerContext
    ) {
        metrics.httpRequest(path: HTTPRoute.metricLabel(route), status: Int(status.code))
        guard context.channel.isActive else { return }
        let keepAlive = keepAlive && head.isKeepAlive
        var headers = HTTPHeaders(extraHeaders)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        // The state changes before the answer's end is written: writing it lets the pipeline
        // handler deliver the next pipelined request at once, inside that very call.
        if keepAlive {
            state = .idle
            armDeadline(context: context)
        } else {
            state = .refused
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    // MARK: - Slowloris

    private func armDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: settings.requestTimeout) {
            let (handler, context) = loopBound.value
            handler.deadlinePassed(context: context)
        }
    }

    private func deadlinePassed(context: ChannelHandlerContext) {
        deadline = nil
        switch state {
        case .idle:
            // An idle keep-alive connection: close it quietly.
            context.close(promise: nil)
        case .receiving:
            logger.warning("closing an HTTP connection whose request did not arrive in time", metadata: ["http.request_timeout": "\(settings.requestTimeout)"])
            context.close(promise: nil)
        case .refused, .answering:
            break
        }
    }
}
