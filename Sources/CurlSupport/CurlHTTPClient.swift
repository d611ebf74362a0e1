import CCurl

/// A blocking HTTP client over one libcurl easy handle, for one worker thread.
///
/// The handle is reused for every request, so libcurl keeps the connection to the upstream
/// open between requests (keep-alive) and negotiates HTTP/2 over TLS where the server offers
/// it. `post` blocks until the answer came: run it on a dedicated thread, never on an event
/// loop or Swift's shared thread pool. Shutdown reaches a running transfer through
/// `abortHandle`, which any thread may use.
///
/// `post` drives the easy handle with a private multi handle, the way `curl_easy_perform` does
/// internally, but waits in `curl_multi_poll` so that `CurlAbortHandle.abort()` can wake it
/// with `curl_multi_wakeup` at once instead of within the second `curl_easy_perform` takes to
/// call the progress callback. The multi handle also holds the connection cache, so it lives as
/// long as the client.
///
/// The client is not `Sendable`: the easy handle, its header list and the response buffers
/// are used without locks, which is only safe from one thread at a time. Make one client per
/// worker thread.
///
/// Settings fixed for every request: only `http` and `https` (also on redirects, which are not
/// followed), `CURLOPT_NOSIGNAL` (libcurl must not use signals in a multi-threaded process;
/// the process should ignore `SIGPIPE`), `TCP_NODELAY`, TCP keepalive probes, no
/// `Expect: 100-continue` (a needless round trip before every large batch), and an error
/// buffer whose text ends up in `CurlError.detail`.
public final class CurlHTTPClient {
    /// The configuration the handle was set up with.
    public let configuration: Configuration
    /// Aborts this client's transfers from any thread; see `CurlAbortHandle`.
    public let abortHandle: CurlAbortHandle

    /// The easy handle; nil once `close()` ran.
    private var handle: UnsafeMutableRawPointer?
    /// The multi handle that runs the easy handle's transfers and keeps its connections; nil
    /// once `close()` ran.
    private var multi: UnsafeMutableRawPointer?
    /// `CURLOPT_ERRORBUFFER`: libcurl writes into it during transfers, so it lives as long as
    /// the handle.
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// One zero byte that `CURLOPT_POSTFIELDS` points at between requests and for empty bodies,
    /// so the handle never holds a pointer into a caller's buffer after `post` returns.
    private let emptyBody: UnsafeMutablePointer<UInt8>
    /// The header list installed with `CURLOPT_HTTPHEADER`; see `CurlHeaderList`.
    private var headerList: CurlHeaderList?

    // The response being received; written only by the callbacks, during `perform`.
    var responseBody: [UInt8] = []
    var responseBodyTruncated = false
    var responseHeaders = HTTPResponse.Headers()

    /// Header lines added to every request. `Expect:` with no value stops libcurl from
    /// sending `Expect: 100-continue` for large bodies.
    private static let ownHeaderLines = ["Expect:"]

    /// Creates the easy handle and sets it up from `configuration`.
    public init(configuration: Configuration = Configuration()) throws(CurlError) {
        try CurlGlobal.ensureInitialized()
        guard let handle = curl_easy_init() else {
            throw CurlError(
                kind: .other,
                code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue),
                summary: String(cString: curl_easy_strerror(CURLE_FAILED_INIT)),
                detail: "curl_easy_init returned NULL"
            )
        }
        guard let multi = curl_multi_init() else {
            curl_easy_cleanup(handle)
            throw CurlError(
                kind: .other,
                code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue),
                summary: String(cString: curl_easy_strerror(CURLE_FAILED_INIT)),
                detail: "curl_multi_init returned NULL"
            )
        }
        self.configuration = configuration
        self.abortHandle = CurlAbortHandle()
        self.handle = handle
        self.multi = multi
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        self.emptyBody = .allocate(capacity: 1)
        self.emptyBody.initialize(to: 0)
        // From here on a throw runs deinit, which cleans the handles up.
        abortHandle.attach(multi)
        try configure(handle)
    }

    deinit {
        close()
        errorBuffer.deallocate()
        emptyBody.deallocate()
    }

    /// Closes the connection and frees the easy handle now rather than at `deinit`.
    ///
    /// `curl_easy_cleanup` cannot fail, so this does not throw. Calling `post` afterwards is a
    /// programming error; calling `close()` again does nothing.
    public func close() {
        guard let handle, let multi else { return }
        // No transfer runs (the client is used from one thread and `post` removes the easy
        // handle before it returns), so the multi handle holds only idle connections.
        abortHandle.detach()
        curl_multi_cleanup(multi)
        curl_easy_cleanup(handle)
        self.multi = nil
        self.handle = nil
        // Only now that the easy handle is gone may the header list it pointed at be freed.
        headerList = nil
    }

    /// Sends `body` with `POST` to `url` and waits for the answer.
    ///
    /// Every HTTP status, 4xx and 5xx included, is a response, not an error. Throws a
    /// `CurlError` when no response arrived: the connection failed, a timeout expired, TLS
    /// failed, or `abortHandle.abort()` was called (kind `.aborted`).
    ///
    /// - Parameters:
    ///   - url: An `http` or `https` URL.
    ///   - headers: Complete header lines such as `Content-Type: application/json`; they must
    ///     not contain line breaks. They never appear in an error.
    ///   - body: The request body, sent as is without being copied.
    public func post(url: String, headers: [String], body: [UInt8]) throws(CurlError) -> HTTPResponse {
        let result = body.withUnsafeBytes { bytes in
            Result { () throws(CurlError) in try post(url: url, headers: headers, body: bytes) }
        }
        return try result.get()
    }

    /// Sends the bytes `body` points at with `POST` to `url` and waits for the answer; see
    /// `post(url:headers:body:)`. libcurl reads `body` during the call and keeps no pointer to
    /// it afterwards.
    public func post(
        url: String,
        headers: [String],
        body: UnsafeRawBufferPointer
    ) throws(CurlError) -> HTTPResponse {
        guard let handle, let multi else {
            preconditionFailure("CurlHTTPClient.post called after close()")
        }
        if abortHandle.isAborted {
            throw CurlError.abortedBeforeStart
        }
        try check(url.withCString { ccurl_easy_setopt_string(handle, CURLOPT_URL, $0) }, "setting the URL")
        try installHeaders(headers, on: handle)

        responseBody.removeAll(keepingCapacity: true)
        responseBodyTruncated = false
        responseHeaders = HTTPResponse.Headers()
        errorBuffer[0] = 0

        // POSTFIELDS is not copied: libcurl reads `body` during `perform` below, and
        // the defer points it back at `emptyBody` before `body` can go away.
        let bodyPointer = UnsafeMutableRawPointer(mutating: body.baseAddress) ?? UnsafeMutableRawPointer(emptyBody)
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, bodyPointer), "setting the body")
        defer {
            _ = ccurl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(emptyBody))
            _ = ccurl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0)
        }
        try check(
            ccurl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)),
            "setting the body size"
        )

        let code = try perform(handle, in: multi)
        guard code == CURLE_OK else {
            throw CurlError(code: code, errorBuffer: errorBuffer, aborted: abortHandle.isAborted)
        }

        var status = 0
        try check(ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status), "reading the status")
        var newConnections = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &newConnections)
        var totalMicroseconds: curl_off_t = 0
        _ = ccurl_easy_getinfo_off_t(handle, CURLINFO_TOTAL_TIME_T, &totalMicroseconds)

        var response = HTTPResponse(status: status, headers: responseHeaders, body: responseBody)
        response.bodyTruncated = responseBodyTruncated
        response.reusedConnection = newConnections == 0
        response.duration = .microseconds(totalMicroseconds)
        return response
    }

    /// Runs one transfer of `handle` to its end, or until `abortHandle.abort()`: the loop of
    /// `curl_easy_perform`, with a wait that `curl_multi_wakeup` can cut short.
    private func perform(
        _ handle: UnsafeMutableRawPointer,
        in multi: UnsafeMutableRawPointer
    ) throws(CurlError) -> CURLcode {
        try checkMulti(curl_multi_add_handle(multi, handle), "adding the transfer")
        // Removing the handle ends a transfer that is still running (after an abort) and
        // closes its connection; a finished one leaves its connection in the cache for reuse.
        defer { _ = curl_multi_remove_handle(multi, handle) }
        while true {
            var running: Int32 = 0
            try checkMulti(curl_multi_perform(multi, &running), "running the transfer")
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                if message.pointee.msg == CURLMSG_DONE && message.pointee.easy_handle == handle {
                    return message.pointee.data.result
                }
            }
            if abortHandle.isAborted {
                return CURLE_ABORTED_BY_CALLBACK
            }
            if running == 0 {
                // libcurl always reports a finished transfer; this is a safety net against
                // spinning if it ever did not.
                return CURLE_GOT_NOTHING
            }
            // Returns when a socket is ready, libcurl's next timeout is due, or abort() woke
            // it; the 1 s cap matches curl_easy_perform's.
            try checkMulti(curl_multi_poll(multi, nil, 0, 1000, nil), "waiting for the network")
        }
    }

    // MARK: - Setup

    /// Sets the options that stay the same for every request.
    private func configure(_ handle: UnsafeMutableRawPointer) throws(CurlError) {
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "setting the error buffer")
        try setLong(handle, CURLOPT_NOSIGNAL, 1)
        try setString(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        try setString(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try setLong(handle, CURLOPT_FOLLOWLOCATION, 0)
        try setLong(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        try setLong(handle, CURLOPT_TCP_NODELAY, 1)
        try setLong(handle, CURLOPT_TCP_KEEPALIVE, 1)
        try setLong(handle, CURLOPT_TCP_KEEPIDLE, 60)
        try setLong(handle, CURLOPT_TCP_KEEPINTVL, 30)
        try setLong(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout))
        try setLong(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(configuration.totalTimeout))
        try setString(handle, CURLOPT_USERAGENT, configuration.userAgent)
        if let caFile = configuration.caFile {
            try setString(handle, CURLOPT_CAINFO, caFile)
        }
        if let proxy = configuration.proxy {
            try setString(handle, CURLOPT_PROXY, proxy)
        }
        try setLong(handle, CURLOPT_POST, 1)
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, emptyBody), "setting the body")
        try check(ccurl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0), "setting the body size")
        try installCallbacks(on: handle)
    }

    /// Installs `headers` plus the client's own lines, reusing the current list when the
    /// caller's lines did not change (the usual case: the same key and content type).
    private func installHeaders(_ headers: [String], on handle: UnsafeMutableRawPointer) throws(CurlError) {
        if let headerList, headerList.lines == headers {
            return
        }
        // A line break would let one header smuggle in others. The error names no header: the
        // offending line may be the Authorization header.
        if headers.contains(where: { $0.utf8.contains { $0 == 0x0D || $0 == 0x0A } }) {
            throw CurlError(
                kind: .other,
                code: Int32(bitPattern: CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                summary: String(cString: curl_easy_strerror(CURLE_BAD_FUNCTION_ARGUMENT)),
                detail: "a request header line contains a line break"
            )
        }
        let newList = try CurlHeaderList(lines: headers, extraLines: Self.ownHeaderLines)
        try check(ccurl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, newList.pointer), "setting the headers")
        // The handle now points at the new list; the old one may be freed.
        headerList = newList
    }

    private func setLong(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int) throws(CurlError) {
        try check(ccurl_easy_setopt_long(handle, option, value), "setting option \(option.rawValue)")
    }

    private func setString(
        _ handle: UnsafeMutableRawPointer,
        _ option: CURLoption,
        _ value: String
    ) throws(CurlError) {
        // libcurl copies string options, so the temporary C string may go away after the call.
        try check(
            value.withCString { ccurl_easy_setopt_string(handle, option, $0) },
            "setting option \(option.rawValue)"
        )
    }

    /// Throws when a setup call failed. `what` names the step, never a value.
    private func check(_ code: CURLcode, _ what: String) throws(CurlError) {
        guard code == CURLE_OK else {
            let error = CurlError(code: code, errorBuffer: nil, aborted: false)
            throw CurlError(kind: error.kind, code: error.code, summary: error.summary, detail: what)
        }
    }

    /// Throws when a multi-interface call failed. `what` names the step, never a value.
    private func checkMulti(_ code: CURLMcode, _ what: String) throws(CurlError) {
        guard code == CURLM_OK else {
            throw CurlError(
                kind: .other,
                code: Int32(code.rawValue),
                summary: String(cString: curl_multi_strerror(code)),
                detail: what
            )
        }
    }

    /// libcurl reads 0 as "no timeout", so a zero or negative duration becomes 1 ms.
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 1 }
        let (wholeMilliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return Int.max }
        let total = wholeMilliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if total.overflow { return Int.max }
        return max(1, Int(total.partialValue))
    }
}

@available(*, unavailable)
extension CurlHTTPClient: Sendable {}
