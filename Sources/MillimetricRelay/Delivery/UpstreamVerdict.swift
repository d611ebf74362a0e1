import CurlSupport
import FoundationEssentials

/// What the drainer does with one answer from the Millimetric API (SPEC §6).
///
/// A pure function of the HTTP status, the response body and the kind of request, or of the
/// transport error when no answer came, so every rule of §6 is tested without a network.
/// Reasons are short operator-readable lines for logs and `status`, such as
/// `401 invalid_api_key from upstream`: they quote the API's `error` code from the JSON body
/// when there is one, and never a header (the request headers carry the API key).
public enum UpstreamVerdict: Sendable, Hashable {
    /// 2xx: the rows leave the outbox.
    case delivered
    /// 429: wait at least `retryAfter` (when the API sent one) before trying again, and slow
    /// down (`TokenBucket.drain`).
    case rateLimited(retryAfter: Duration?, reason: String)
    /// 5xx, 408, an unexpected status, or no answer (timeout, connection, TLS): retry with
    /// `Backoff`. Retrying never stops.
    case retryable(reason: String)
    /// 400/413/422 on a batch of more than one event: some event(s) in it are refused; split
    /// the batch and retry the halves until the refused events stand alone.
    case split(status: Int, reason: String)
    /// 400/413/422 on a single event, an identify or a forget: the API refuses this request for
    /// good. Events and identifies go to the dead-letter table with the API's answer; a forget
    /// is kept, logged as an error and shown by `status` (SPEC §7).
    case refused(status: Int, reason: String)
    /// 401, 403, 404, any other 4xx, a redirect, or a URL libcurl rejects: nothing a single
    /// event caused. Delivery pauses (retrying every minute, at once on SIGHUP); nothing is
    /// dropped or dead-lettered.
    case paused(reason: String)

    /// The request an answer belongs to; it decides what a 400/413/422 means.
    public enum Request: Sendable, Hashable {
        /// `POST /v1/batch` with this many events.
        case batch(eventCount: Int)
        /// `POST /v1/identify`.
        case identify
        /// `POST /v1/forget`.
        case forget
    }

    /// Classifies an HTTP answer.
    ///
    /// - Parameters:
    ///   - status: The HTTP status code.
    ///   - body: The response body (or its start); only its JSON `error` field is used.
    ///   - retryAfter: The parsed `Retry-After` header (see `RetryAfter`), used for 429.
    ///   - request: What was sent.
    public init(status: Int, body: [UInt8], retryAfter: Duration?, request: Request) {
        let reason = Self.reason(status: status, body: body)
        switch status {
        case 200...299:
            self = .delivered
        case 429:
            self = .rateLimited(retryAfter: retryAfter, reason: reason)
        case 408, 500...599:
            self = .retryable(reason: reason)
        case 400, 413, 422:
            if case .batch(let eventCount) = request, eventCount > 1 {
                self = .split(status: status, reason: reason)
            } else {
                self = .refused(status: status, reason: reason)
            }
        case 401...499:
            self = .paused(reason: reason)
        case 300...399:
            self = .paused(reason: reason + " (redirects are not followed: check the host setting)")
        default:
            self = .retryable(reason: "unexpected status " + reason)
        }
    }

    /// Classifies an answer received by `CurlHTTPClient`, reading `Retry-After` relative to
    /// `now`.
    public init(response: HTTPResponse, request: Request, now: Date) {
        let retryAfter = response.headers.retryAfter.flatMap { RetryAfter.delay(from: $0, now: now) }
        self.init(status: response.status, body: response.body, retryAfter: retryAfter, request: request)
    }

    /// Classifies a request that got no answer.
    ///
    /// Every transport failure is retried (SPEC §6), including an abort at shutdown (the rows
    /// simply stay queued), except a URL that libcurl refuses, which no retry can fix: that
    /// pauses delivery until the configuration changes.
    public init(transportError error: CurlError) {
        let what: String
        switch error.kind {
        case .invalidURL:
            self = .paused(reason: "upstream URL refused: \(error) (check the host setting)")
            return
        case .resolve: what = "cannot resolve the upstream host"
        case .connectFailed: what = "cannot connect to upstream"
        case .timedOut: what = "upstream timed out"
        case .tls: what = "TLS with upstream failed"
        case .sendOrReceive: what = "connection to upstream broke"
        case .aborted: what = "request to upstream aborted"
        case .other: what = "request to upstream failed"
        }
        self = .retryable(reason: "\(what): \(error)")
    }

    /// The operator-readable reason, or nil for `.delivered`.
    public var reason: String? {
        switch self {
        case .delivered: nil
        case .rateLimited(_, let reason), .retryable(let reason), .split(_, let reason),
            .refused(_, let reason), .paused(let reason):
            reason
        }
    }

    /// `"<status> <error> from upstream"`, or `"<status> from upstream"` without an error code.
    private static func reason(status: Int, body: [UInt8]) -> String {
        if let code = apiErrorCode(in: body) {
            return "\(status) \(code) from upstream"
        }
        return "\(status) from upstream"
    }

    /// The API's machine-readable `error` field (e.g. `invalid_api_key`) when `body` is a JSON
    /// object that has one.
    ///
    /// Only a short code made of letters, digits, `_`, `-` and `.` is taken, so that whatever
    /// the upstream sends cannot inject line breaks or long text into log lines, and a value
    /// that looks like an API key (`sk_…`, `pk_…`, `rk_…`) is ignored in case the upstream
    /// ever echoes the key back.
    ///
    /// A body that is not UTF-8 is not JSON text (RFC 8259 §8.1), so it has no code, even when
    /// its `error` member is intact and only, say, the `message` carries a stray byte. The
    /// decoder alone would be lenient there by accident: it checks the UTF-8 of the keys and of
    /// the strings it decodes, not of those it skips. What the drainer does does not depend on
    /// the code (a 400 on a batch splits it, on one event dead-letters it, with the whole answer
    /// kept in the dead letter); only the reason in logs and `status` reads `400 from upstream`
    /// instead of quoting a code from a malformed answer. One rule, the standard's, that the
    /// fuzzer's independent reference (Foundation's `JSONSerialization`) checks, rather than
    /// whatever a decoder happens to skip (the fuzz campaign's finding of 2026-12-07, #19).
    /// The same holds for a raw control character or a bad escape inside a string (RFC 8259 §7),
    /// which the decoder does not check in the strings it skips either (CI's fuzz run of
    /// 2026-12-07: a `message` holding raw NUL bytes). An object with two `error` members
    /// (RFC 8259 §4 leaves duplicate names to each reader) has the first one's code.
    public static func apiErrorCode(in body: [UInt8]) -> String? {
        guard body.first(where: { !Self.isJSONWhitespace($0) }) == UInt8(ascii: "{"),
            String(validating: body, as: UTF8.self) != nil,
            !hasMalformedString(body),
            let object = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)),
            let code = object.error
        else { return nil }
        let allowed = code.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
                true
            default:
                false
            }
        }
        let looksLikeKey = ["sk_", "pk_", "rk_"].contains { code.lowercased().hasPrefix($0) }
        guard allowed, !looksLikeKey, (1...64).contains(code.utf8.count) else { return nil }
        return code
    }

    /// Whether a string of `body` breaks RFC 8259 §7 in a way the decoder does not see in the
    /// strings it skips: a byte below 0x20 that is not escaped, or an escape other than `\"`,
    /// `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\u` with four hex digits, or a `\u`
    /// surrogate that is not half of a high-low pair (it encodes no Unicode text; the fuzzer's
    /// reference refuses it too). (Outside strings such bytes are syntax errors the decoder
    /// itself reports.)
    static func hasMalformedString(_ body: [UInt8]) -> Bool {
        var inString = false
        var index = 0
        while index < body.count {
            let byte = body[index]
            index += 1
            if !inString {
                inString = byte == UInt8(ascii: "\"")
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            } else if byte < 0x20 {
                return true
            } else if byte == UInt8(ascii: "\\") {
                guard index < body.count else { return true }
                let escape = body[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    guard let unit = utf16Unit(in: body, at: index) else { return true }
                    index += 4
                    switch unit {
                    case 0xD800...0xDBFF:
                        // A high surrogate stands only before a `\u` low surrogate.
                        guard index + 6 <= body.count, body[index] == UInt8(ascii: "\\"), body[index + 1] == UInt8(ascii: "u"),
                            let low = utf16Unit(in: body, at: index + 2), (0xDC00...0xDFFF).contains(low)
                        else { return true }
                        index += 6
                    case 0xDC00...0xDFFF:
                        return true
                    default:
                        continue
                    }
                default:
                    return true
                }
            }
        }
        return false
    }

    /// The UTF-16 code unit of the four hex digits at `index` (after a `\u`), or nil.
    private static func utf16Unit(in body: [UInt8], at index: Int) -> UInt16? {
        guard index + 4 <= body.count else { return nil }
        var unit: UInt16 = 0
        for byte in body[index..<index + 4] {
            guard let digit = byte.hexDigitValue else { return nil }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The one field of an API error body that is read; a non-string `error` fails decoding.
    private struct ErrorBody: Decodable {
        let error: String?
    }
}

private extension UInt8 {
    var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
