/// A failed libcurl transfer, or a failure to set up the libcurl handle.
///
/// `kind` is stable and is what callers branch on (retry, pause, stop); `code` is the raw
/// `CURLcode` for logs and `message` is libcurl's text: `curl_easy_strerror` plus the
/// transfer's error buffer, which names what went wrong in more detail.
///
/// An error never carries the request headers, the request body or the URL's query: the
/// headers hold the API key (`Authorization: Bearer sk_…`), and errors end up in logs and in
/// `status` output.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this was, in terms a caller can act on.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The host name (or the proxy's) could not be resolved.
        case resolve
        /// No connection could be made: refused, unreachable, or the proxy refused the tunnel.
        case connectFailed
        /// The connect timeout or the total timeout expired.
        case timedOut
        /// The TLS handshake or certificate verification failed.
        case tls
        /// The connection broke while sending the request or receiving the response, or the
        /// server answered with something that is not HTTP.
        case sendOrReceive
        /// `CurlAbortHandle.abort()` was called (shutdown) before or during the transfer.
        case aborted
        /// libcurl refused the URL: malformed, or a scheme other than http/https. Retrying the
        /// same URL cannot help; the configuration has to change.
        case invalidURL
        /// Anything else (out of memory, an option libcurl rejected, an internal error).
        case other
    }

    /// What kind of failure this was.
    public let kind: Kind
    /// The raw `CURLcode` (0 is `CURLE_OK`, which never appears in an error).
    public let code: Int32
    /// `curl_easy_strerror(code)`, for example "Couldn't connect to server".
    public let summary: String
    /// The transfer's `CURLOPT_ERRORBUFFER` text, for example "Failed to connect to 127.0.0.1
    /// port 9 after 0 ms: Couldn't connect to server"; empty when libcurl wrote none.
    public let detail: String

    /// Creates an error; CurlSupport makes these, tests and fakes may too.
    public init(kind: Kind, code: Int32, summary: String, detail: String = "") {
        self.kind = kind
        self.code = code
        self.summary = summary
        self.detail = detail
    }

    /// One line for logs and status output, e.g.
    /// `connectFailed (curl 7: Couldn't connect to server: Failed to connect to … port 9 …)`.
    public var description: String {
        var text = "\(kind.rawValue) (curl \(code): \(summary)"
        if !detail.isEmpty && detail != summary {
            text += ": \(detail)"
        }
        return text + ")"
    }
}
