import CCurl

extension CurlError {
    /// Makes an error from a failed `CURLcode`, reading `curl_easy_strerror` and the error
    /// buffer. `aborted` says whether `CurlAbortHandle.abort()` was called, which is what
    /// tells our own abort apart from any other callback failure.
    init(code: CURLcode, errorBuffer: UnsafePointer<CChar>?, aborted: Bool) {
        let kind: Kind
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .resolve
        case CURLE_COULDNT_CONNECT, CURLE_PROXY, CURLE_QUIC_CONNECT_ERROR:
            kind = .connectFailed
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timedOut
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT,
            CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED:
            kind = .tls
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
            CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3,
            CURLE_SEND_FAIL_REWIND, CURLE_BAD_CONTENT_ENCODING, CURLE_AGAIN:
            kind = .sendOrReceive
        case CURLE_ABORTED_BY_CALLBACK where aborted:
            kind = .aborted
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            kind = .invalidURL
        default:
            kind = .other
        }
        var detail = errorBuffer.map { String(cString: $0) } ?? ""
        if kind == .aborted && detail.isEmpty {
            detail = "aborted by CurlAbortHandle.abort()"
        }
        self.init(
            kind: kind,
            code: Int32(bitPattern: code.rawValue),
            summary: String(cString: curl_easy_strerror(code)),
            detail: detail.trimmingTrailingNewlines()
        )
    }

    /// The error thrown by `post` when the client was aborted before the transfer started.
    static let abortedBeforeStart = CurlError(
        kind: .aborted,
        code: Int32(bitPattern: CURLE_ABORTED_BY_CALLBACK.rawValue),
        summary: String(cString: curl_easy_strerror(CURLE_ABORTED_BY_CALLBACK)),
        detail: "transfer not started: the client was aborted"
    )
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" {
            text.removeLast()
        }
        return String(text)
    }
}
