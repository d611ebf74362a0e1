import NIOCore
import NIOHTTP1

/// An error answer in the Millimetric API's own shape, `{"ok":false,"error":CODE,"message":…}`,
/// with the API's status codes, so that clients written against the API react as they would to
/// the API itself.
struct HTTPAPIError: Error, Sendable, Equatable {
    var status: HTTPResponseStatus
    var code: String
    var message: String
    /// Seconds for `Retry-After` (503 answers).
    var retryAfter: Int?

    init(_ status: HTTPResponseStatus, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    static func invalidPayload(_ message: String) -> HTTPAPIError { HTTPAPIError(.badRequest, "invalid_payload", message) }

    static let payloadTooLarge = HTTPAPIError(
        .payloadTooLarge, "payload_too_large", "Request body is larger than 256 KB (262,144 bytes).")

    static func tooManyEvents(_ count: Int) -> HTTPAPIError {
        HTTPAPIError(.payloadTooLarge, "payload_too_large", "events: \(count) events, at most \(HTTPIngestLimits.maximumBatchEvents) per batch; split it.")
    }

    static func notFound(_ path: String) -> HTTPAPIError {
        HTTPAPIError(.notFound, "not_found", "No such endpoint; the relay serves POST /v1/track, /v1/identify, /v1/batch, /v1/forget and GET /healthz.")
    }

    static func methodNotAllowed(_ route: HTTPRoute) -> HTTPAPIError {
        HTTPAPIError(.methodNotAllowed, "method_not_allowed", "\(route.rawValue) accepts \(route.method.rawValue) only.")
    }

    static let shuttingDown = HTTPAPIError(
        .serviceUnavailable, "shutting_down", "The relay is stopping; nothing was stored, send again later.", retryAfter: 1)

    /// The answer to an event the outbox refused; nothing of the request was stored.
    init(_ rejection: IngestRejection) {
        switch rejection.code {
        case .outboxFull: self.init(.serviceUnavailable, "outbox_full", rejection.message, retryAfter: 5)
        case .shuttingDown: self.init(.serviceUnavailable, "shutting_down", rejection.message, retryAfter: 1)
        case .invalidJSON, .invalidPayload, .lineTooLong, .forbidden: self.init(.badRequest, "invalid_payload", rejection.message)
        case .internalError: self.init(.internalServerError, "internal_error", rejection.message)
        }
    }

    /// The JSON body.
    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64 + message.utf8.count)
        buffer.writeStaticString(#"{"ok":false,"error":"#)
        AckEncoder.writeStringLiteral(code, to: &buffer)
        buffer.writeStaticString(#","message":"#)
        AckEncoder.writeStringLiteral(message, to: &buffer)
        buffer.writeStaticString("}")
        return buffer
    }
}
