import CCurl

// Every callback gets the client as `Unmanaged.passUnretained(self).toOpaque()`. That is safe
// without a retain because:
// - the pointer is stored only in the client's own easy handle, which the client cleans up in
//   `close()`/`deinit`, so libcurl never holds it longer than the client lives;
// - libcurl calls these callbacks only while it runs a transfer of that easy handle, that is
//   inside `curl_multi_perform` in `perform`, which runs only inside `post`, a method of the
//   client, so the caller holds a strong reference for the whole call. (`curl_multi_cleanup`
//   and `curl_easy_cleanup` in `deinit` run no transfer and call none of them.);
// - the client is not `Sendable` and `post` is not reentrant, so the callbacks run on the
//   thread that called `post`, while `post` itself touches none of the response state.

extension CurlHTTPClient {
    /// Installs the body, header and progress callbacks with the client as their user data.
    func installCallbacks(on handle: UnsafeMutableRawPointer) throws(CurlError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let steps: [CURLcode] = [
            ccurl_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                CurlHTTPClient.deliver(data, size * count, user) { $0.receiveBody($1) }
            },
            ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me),
            ccurl_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION) { data, size, count, user in
                CurlHTTPClient.deliver(data, size * count, user) { $0.receiveHeaderLine($1) }
            },
            ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me),
            ccurl_easy_setopt_xferinfo_function(handle) { user, _, _, _, _ in
                guard let user else { return 0 }
                let client = Unmanaged<CurlHTTPClient>.fromOpaque(user).takeUnretainedValue()
                // Non-zero makes libcurl end the transfer with CURLE_ABORTED_BY_CALLBACK.
                return client.abortHandle.isAborted ? 1 : 0
            },
            ccurl_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, me),
            // The progress callback only runs when progress "meter" calls are enabled.
            ccurl_easy_setopt_long(handle, CURLOPT_NOPROGRESS, 0),
        ]
        for code in steps where code != CURLE_OK {
            let error = CurlError(code: code, errorBuffer: nil, aborted: false)
            throw CurlError(kind: error.kind, code: error.code, summary: error.summary, detail: "installing callbacks")
        }
    }

    /// The body and header callbacks' common part: the client from the user data, the bytes as
    /// a buffer, and the length libcurl expects back (anything else aborts the transfer).
    private static func deliver(
        _ data: UnsafeMutablePointer<CChar>?, _ length: Int, _ user: UnsafeMutableRawPointer?,
        to receive: (CurlHTTPClient, UnsafeRawBufferPointer) -> Void
    ) -> Int {
        guard let user, let data else { return length }
        receive(Unmanaged<CurlHTTPClient>.fromOpaque(user).takeUnretainedValue(), UnsafeRawBufferPointer(start: data, count: length))
        return length
    }

    /// Keeps body bytes up to the configured cap and drops the rest.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) {
        let room = configuration.maxResponseBodyBytes - responseBody.count
        if bytes.count > room {
            responseBodyTruncated = true
        }
        if room > 0 {
            responseBody.append(contentsOf: bytes.prefix(room))
        }
    }

    /// Records the headers that matter from one complete header line (libcurl passes one line
    /// per call, with its CRLF).
    func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        // A status line starts a new header block: after a 1xx interim response or a proxy's
        // CONNECT answer, only the final response's headers count.
        if line.starts(with: "HTTP/".utf8) {
            responseHeaders = HTTPResponse.Headers()
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = line[..<colon]
        let value = Self.trimmed(line[(colon + 1)...])
        if Self.equalsIgnoringCase(name, "retry-after") {
            responseHeaders.retryAfter = String(decoding: value, as: UTF8.self)
        } else if Self.equalsIgnoringCase(name, "content-type") {
            responseHeaders.contentType = String(decoding: value, as: UTF8.self)
        }
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }

    /// ASCII case-insensitive comparison; `lowercase` must be lower-case ASCII.
    private static func equalsIgnoringCase(_ bytes: Slice<UnsafeRawBufferPointer>, _ lowercase: String) -> Bool {
        guard bytes.count == lowercase.utf8.count else { return false }
        return zip(bytes, lowercase.utf8).allSatisfy { byte, wanted in
            let lowered = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
            return lowered == wanted
        }
    }
}
