import NIOHTTP1

/// One complete HTTP request, as the handler hands it to ``StandInAPI``.
struct APIRequest: Sendable {
    let method: HTTPMethod
    /// The request target without its query string.
    let path: String
    let headers: HTTPHeaders
    let body: [UInt8]
    /// When the last byte of the request arrived (Unix milliseconds), for the admin log.
    let receivedMilliseconds: Int64

    init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8], receivedMilliseconds: Int64) {
        self.method = method
        self.path =
            uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        self.headers = headers
        self.body = body
        self.receivedMilliseconds = receivedMilliseconds
    }
}
