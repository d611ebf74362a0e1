import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1

/// Serves the API's own endpoints on one HTTP connection: reads each request (its body bounded
/// before it is buffered), authenticates it, validates its events with the socket's
/// ``EventValidator``, hands them to the ``OutboxWriter`` and answers only once they are
/// committed, in the API's shape (SPEC §4b).
///
/// Pipelined requests are served concurrently and answered in order, as the socket acks lines:
/// each request gets a slot in ``answers`` when it has been read; its answer fills the slot when
/// ready (at once for a refusal, after the commit otherwise), and answers leave strictly from the
/// head. So a client with many requests in flight shares one group commit among them, instead of
/// paying one fsync per request. Reading pauses while `maximumPendingAnswers` are unanswered.
/// Slowloris: a request's head and body must arrive within `requestTimeout`; an idle keep-alive
/// connection is closed after the same time.
final class HTTPIngestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What every connection of one listener shares: its limits and what its requests reach.
    /// The server makes it once; each connection's handler gets it whole.
    struct Shared: Sendable {
        var requestTimeout: TimeAmount
        var maximumPendingAnswers: Int = 128
        var writer: OutboxWriter
        var authenticator: HTTPBearerAuthenticator
        /// Whether the server still accepts requests (false once shutdown has begun).
        var isAccepting: @Sendable () -> Bool
        var metrics: RelayMetrics
        var logger: Logger
    }

    /// What a request read decides about its answer before the answer is known.
    private struct Request {
        let version: HTTPVersion
        /// Close the connection after this answer (HTTP/1.0, `Connection: close`, a refused body).
        let closeAfter: Bool
    }

    /// The answer to one request.
    private struct Answer {
        var status: HTTPResponseStatus
        var headers: [(String, String)]
        var body: ByteBuffer
    }

    private let shared: Shared
    private var validator = EventValidator()
    /// Working memory of ``HTTPBatchBody``, reused from batch to batch.
    private var batchScratch: [UInt8] = []
    /// The request being read: its head and the body so far.
    private var receiving: (head: HTTPRequestHead, body: ByteBuffer)?
    /// After a request that ends the connection: the rest of the input is ignored.
    private var ignoringInput = false
    private var quiescing = false
    private var closing = false
    /// One slot per request read, answered in request order.
    private var answers = InOrderReplies<Request, Answer>()
    private var readHeld = false
    private var deadline: Scheduled<Void>?

    init(_ shared: Shared) {
        self.shared = shared
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
        closing = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("http connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // The daemon is stopping: read no more, answer what was read, then close.
            quiescing = true
            ignoringInput = true
            receiving = nil
            closeIfDone(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // Outbound: hold reads while too many answers are pending.
    func read(context: ChannelHandlerContext) {
        if answers.count >= shared.maximumPendingAnswers || quiescing {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ignoringInput else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            begin(head, context: context)
        case .body(var chunk):
            guard case (let head, var body)? = receiving else { return }
            // The limit holds for what is buffered: a chunked body is refused as soon as its
            // chunks add up to more than the API takes.
            guard body.readableBytes + chunk.readableBytes <= HTTPIngestLimits.maximumBodyBytes else {
                refuseEarly(head, .payloadTooLarge, context: context)
                return
            }
            receiving = nil  // let go of `body`'s storage while it grows (no copy)
            body.writeBuffer(&chunk)
            receiving = (head, body)
        case .end:
            guard let (head, body) = receiving else { return }
            receiving = nil
            let id = enqueue(head, closeAfter: !head.isKeepAlive)
            if !head.isKeepAlive { ignoringInput = true }
            armDeadline(context: context)
            handle(head, body: body, id: id, context: context)
        }
    }

    // MARK: - The request

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > HTTPIngestLimits.maximumBodyBytes {
            refuseEarly(head, .payloadTooLarge, context: context)
            return
        }
        // Sized from Content-Length (already bounded above), so a large body is copied in once
        // instead of being regrown as its chunks arrive.
        let expected = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
        receiving = (head, context.channel.allocator.buffer(capacity: max(0, expected)))
        // curl and many SDKs wait for this before sending a large body. Sent only when no earlier
        // answer is pending (it must not overtake them); otherwise the client's own timeout
        // sends the body anyway.
        if answers.isEmpty, head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
    }

    /// Answers before the body is read, then closes: the body is never buffered.
    private func refuseEarly(_ head: HTTPRequestHead, _ error: HTTPAPIError, context: ChannelHandlerContext) {
        receiving = nil
        ignoringInput = true
        let id = enqueue(head, closeAfter: true)
        respond(id, route: HTTPRoute(target: head.uri), error: error, context: context)
    }

    private func enqueue(_ head: HTTPRequestHead, closeAfter: Bool) -> UInt64 {
        answers.enqueue(Request(version: head.version, closeAfter: closeAfter))
    }

    /// One complete request: routed and authenticated, its events validated, then handed to the
    /// writer; the answer goes once they are committed (``committed(_:route:events:outcomes:context:)``).
    private func handle(_ head: HTTPRequestHead, body: ByteBuffer, id: UInt64, context: ChannelHandlerContext) {
        guard let route = HTTPRoute(target: head.uri) else {
            return respond(id, route: nil, error: .notFound(head.uri), context: context)
        }
        guard head.method == route.method else {
            return respond(id, route: route, error: .methodNotAllowed(route), extraHeaders: [("allow", route.method.rawValue)], context: context)
        }
        if route == .healthz {
            let healthy = shared.isAccepting() && shared.writer.isOpen
            var buffer = context.channel.allocator.buffer(capacity: 64)
            if healthy {
                buffer.writeStaticString(#"{"ok":true}"#)
                return respond(id, route: route, status: .ok, body: buffer, context: context)
            }
            return respond(id, route: route, error: .shuttingDown, context: context)
        }
        if let error = shared.authenticator.check(head.headers, route: route) {
            return respond(id, route: route, error: error, context: context)
        }
        guard shared.isAccepting() else {
            return respond(id, route: route, error: .shuttingDown, context: context)
        }
        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        switch validate(body, route: route, receivedTimestamp: RFC3339.format(unixMilliseconds: receivedAt)) {
        case .success(let events): submit(events, route: route, receivedAt: receivedAt, id: id, context: context)
        case .failure(let error): respond(id, route: route, error: error, context: context)
        }
    }

    /// The events of a request's body: the one event of `/v1/track` or `/v1/identify`, or
    /// `/v1/batch`'s `events`, all or nothing (one bad event refuses the batch, naming it).
    private func validate(_ body: ByteBuffer, route: HTTPRoute, receivedTimestamp stamp: [UInt8]) -> Result<[ValidatedEvent], HTTPAPIError> {
        if let kind = route.eventKind {
            return body.withUnsafeReadableBytes { validator.validate($0, receivedTimestamp: stamp, fixedKind: kind) }
                .map { [$0] }
                .mapError { .invalidPayload(Self.aboutTheBody($0.message)) }
        }
        defer { if batchScratch.capacity > 65_536 { batchScratch = [] } }
        return body.withUnsafeReadableBytes { raw -> Result<[ValidatedEvent], HTTPAPIError> in
            let members: [Range<Int>]
            switch HTTPBatchBody.events(in: raw, scratch: &batchScratch) {
            case .success(let list): members = list
            case .failure(let error): return .failure(error)
            }
            var events: [ValidatedEvent] = []
            events.reserveCapacity(members.count)
            // Each member is validated where it lies in the request body: no copy before
            // its canonical body is written.
            for (index, member) in members.enumerated() {
                switch validator.validate(UnsafeRawBufferPointer(rebasing: raw[member]), receivedTimestamp: stamp, fixedKind: .track) {
                case .success(let event): events.append(event)
                case .failure(let rejection):
                    let message = rejection.message.replacing("the line", with: "the event")
                        .replacing("end of line", with: "end of the event")
                    return .failure(.invalidPayload("events[\(index)]: \(message)"))
                }
            }
            return .success(events)
        }
    }

    /// Hands validated events to the writer (a batch all or nothing); the answer is written on
    /// this channel's event loop once they are committed.
    private func submit(_ events: [ValidatedEvent], route: HTTPRoute, receivedAt: Int64, id: UInt64, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let metrics = shared.metrics
        let completion: @Sendable ([OutboxWriter.Outcome]) -> Void = { outcomes in
            for outcome in outcomes { metrics.committed(outcome) }
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.committed(id, route: route, events: events, outcomes: outcomes, context: context)
            }
        }
        if route == .batch {
            shared.writer.submitAllOrNothing(events, receivedAt: receivedAt, completion: completion)
        } else {
            shared.writer.submit(events, receivedAt: receivedAt, completion: completion)
        }
    }

    /// The validator speaks of lines (the socket's unit); over HTTP the unit is the body.
    static func aboutTheBody(_ message: String) -> String {
        message.replacing("the line", with: "the body").replacing("end of line", with: "end of the body")
    }

    private func committed(_ id: UInt64, route: HTTPRoute, events: [ValidatedEvent], outcomes: [OutboxWriter.Outcome], context: ChannelHandlerContext) {
        for outcome in outcomes {
            if case .rejected(let rejection) = outcome {
                return respond(id, route: route, error: HTTPAPIError(rejection), context: context)
            }
        }
        shared.metrics.eventsAcked.increment(by: events.count)
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
        respond(id, route: route, status: .accepted, body: buffer, context: context)
    }

    // MARK: - Answers

    private func respond(
        _ id: UInt64, route: HTTPRoute?, error: HTTPAPIError, extraHeaders: [(String, String)] = [], context: ChannelHandlerContext
    ) {
        var headers = extraHeaders
        if let seconds = error.retryAfter { headers.append(("retry-after", String(seconds))) }
        respond(id, route: route, status: error.status, body: error.body(allocator: context.channel.allocator), extraHeaders: headers, context: context)
    }

    /// Fills the request's slot; answers then leave from the head, in request order (``InOrderReplies``).
    private func respond(
        _ id: UInt64, route: HTTPRoute?, status: HTTPResponseStatus, body: ByteBuffer, extraHeaders: [(String, String)] = [],
        context: ChannelHandlerContext
    ) {
        shared.metrics.httpRequest(path: HTTPRoute.metricLabel(route), status: Int(status.code))
        answers.fill(id, with: Answer(status: status, headers: extraHeaders, body: body))
        flushReadyAnswers(context: context)
    }

    private func flushReadyAnswers(context: ChannelHandlerContext) {
        guard !closing else { return }
        var wrote = false
        while let (request, answer) = answers.popReady() {
            var headers = HTTPHeaders(answer.headers)
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(answer.body.readableBytes))
            if request.closeAfter { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: answer.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
            let written = context.write(wrapOutboundOut(.end(nil)))
            wrote = true
            if request.closeAfter {
                closing = true
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
                break
            }
        }
        if wrote { context.flush() }
        if readHeld && answers.count < shared.maximumPendingAnswers && !quiescing {
            readHeld = false
            context.read()
        }
        closeIfDone(context: context)
    }

    /// While stopping: closes once every request read has been answered.
    private func closeIfDone(context: ChannelHandlerContext) {
        guard quiescing, answers.isEmpty, !closing else { return }
        closing = true
        context.close(promise: nil)
    }

    // MARK: - Slowloris

    private func armDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: shared.requestTimeout) {
            let (handler, context) = loopBound.value
            handler.deadlinePassed(context: context)
        }
    }

    private func deadlinePassed(context: ChannelHandlerContext) {
        deadline = nil
        if receiving != nil {
            shared.logger.warning("closing an HTTP connection whose request did not arrive in time", metadata: ["http.request_timeout": "\(shared.requestTimeout)"])
            context.close(promise: nil)
        } else if answers.isEmpty {
            // An idle keep-alive connection (or a head that never completed): close it quietly.
            context.close(promise: nil)
        } else {
            // Waiting for commits is not the client's fault.
            armDeadline(context: context)
        }
    }
}
