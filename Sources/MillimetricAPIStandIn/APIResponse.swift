import NIOCore

/// One answer, ready for the handler to write.
struct APIResponse: Sendable {
    var status: Int
    var contentType: String
    /// Headers beyond Content-Type and Content-Length (for example `Retry-After`).
    var extraHeaders: [(String, String)]
    var body: ByteBuffer
    /// Close the connection after this answer (used after an early 413).
    var closesConnection: Bool

    init(
        status: Int,
        contentType: String,
        body: ByteBuffer,
        extraHeaders: [(String, String)] = [],
        closesConnection: Bool = false
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.extraHeaders = extraHeaders
        self.closesConnection = closesConnection
    }

    /// An `application/json` answer.
    static func json(_ status: Int, _ value: JSONValue, extraHeaders: [(String, String)] = []) -> APIResponse {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        value.write(to: &buffer)
        return APIResponse(status: status, contentType: "application/json", body: buffer, extraHeaders: extraHeaders)
    }

    /// The API's JSON error answer.
    static func error(_ error: APIError, extraHeaders: [(String, String)] = []) -> APIResponse {
        .json(error.status, error.body, extraHeaders: extraHeaders)
    }

    /// A newline-delimited JSON answer (the admin log and event dumps).
    static func ndjson(_ body: ByteBuffer) -> APIResponse {
        APIResponse(status: 200, contentType: "application/x-ndjson", body: body)
    }
}
