/// The final answer to one request made by `CurlHTTPClient`.
///
/// Only what the relay acts on is kept: the status, the few response headers that drive
/// delivery decisions, and the start of the body (error bodies are small JSON objects; a huge
/// body is cut at `CurlHTTPClient.Configuration.maxResponseBodyBytes` so that a misbehaving
/// upstream cannot make the relay buffer without bound).
public struct HTTPResponse: Sendable, Hashable {
    /// The response headers the relay uses. Names were matched case-insensitively; values
    /// are trimmed of surrounding whitespace. When a header came more than once, the last
    /// value wins.
    public struct Headers: Sendable, Hashable {
        /// `Retry-After`, unparsed (delta-seconds or an HTTP-date).
        public var retryAfter: String?
        /// `Content-Type`.
        public var contentType: String?

        /// Creates a header set.
        public init(retryAfter: String? = nil, contentType: String? = nil) {
            self.retryAfter = retryAfter
            self.contentType = contentType
        }
    }

    /// The HTTP status code of the final response, e.g. 202.
    public var status: Int
    /// The response headers that matter.
    public var headers: Headers
    /// The response body, at most `maxResponseBodyBytes` long.
    public var body: [UInt8]
    /// Whether the body was longer than what `body` holds.
    public var bodyTruncated = false
    /// Whether the request went over a connection that an earlier request had opened
    /// (keep-alive), rather than a new one.
    public var reusedConnection = false
    /// How long the transfer took, from start to the last byte.
    public var duration = Duration.zero

    /// Creates a response; tests and fakes use this (public, so written out: the synthesized
    /// memberwise init would be internal). The transfer's facts start as "not truncated, new
    /// connection, no time": only the client itself sets them.
    public init(status: Int, headers: Headers = Headers(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
