import CCurl

/// `curl_global_init` runs exactly once per process, before the first handle is made.
///
/// libcurl requires it before any other call and it is not safe to race with other libcurl
/// calls; a global `let` is initialised lazily under `swift_once`, so the first
/// `CurlHTTPClient` to be made runs it and every other thread waits for it. It is never
/// undone with `curl_global_cleanup`: clients may live until the process exits.
enum CurlGlobal {
    /// The raw result of `curl_global_init(CURL_GLOBAL_DEFAULT)`.
    private static let initResult: UInt32 = curl_global_init(ccurl_global_default_flags()).rawValue

    /// Runs `curl_global_init` if no one has yet; throws if it failed.
    static func ensureInitialized() throws(CurlError) {
        let code = CURLcode(rawValue: initResult)
        guard code == CURLE_OK else {
            throw CurlError(code: code, errorBuffer: nil, aborted: false)
        }
    }
}
