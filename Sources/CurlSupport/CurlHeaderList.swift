import CCurl

/// Owns one `curl_slist` of request header lines and frees it in `deinit`.
///
/// libcurl does not copy `CURLOPT_HTTPHEADER`'s list: it reads it during every transfer until
/// the option is replaced. `CurlHTTPClient` therefore keeps the list it last installed alive
/// (and reuses it while the caller's headers stay the same) and only drops it after it has
/// installed the next one or cleaned up the easy handle.
final class CurlHeaderList {
    /// The header lines this list was built from, without the ones the client adds itself.
    let lines: [String]
    /// The list; nil only if `lines` and the client's own lines were all empty.
    private(set) var pointer: UnsafeMutablePointer<curl_slist>?

    /// Builds the list from `lines` followed by `extraLines`.
    init(lines: [String], extraLines: [String]) throws(CurlError) {
        self.lines = lines
        self.pointer = nil
        for line in lines + extraLines {
            // curl_slist_append copies the string; on failure the old list is left intact.
            guard let appended = line.withCString({ curl_slist_append(pointer, $0) }) else {
                throw CurlError(
                    kind: .other,
                    code: Int32(bitPattern: CURLE_OUT_OF_MEMORY.rawValue),
                    summary: String(cString: curl_easy_strerror(CURLE_OUT_OF_MEMORY)),
                    detail: "could not build the request header list"
                )
            }
            pointer = appended
        }
    }

    deinit {
        curl_slist_free_all(pointer)
    }
}

@available(*, unavailable)
extension CurlHeaderList: Sendable {}
