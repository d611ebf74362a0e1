import CurlSupport
import Foundation
import FuzzSupport
import MillimetricRelay

/// What must hold for the drainer's reading of any answer (SPEC §6):
///
/// - the verdict is total (every status, body and header gives one) and follows the status
///   class as SPEC §6 tabulates it, written out here independently: 2xx delivered; 429 wait
///   (with the parsed `Retry-After`, if any); 5xx, 408 and anything unexpected retried; 400,
///   413 and 422 split on a batch of several events, else refused; other 4xx and 3xx pause;
/// - the reason names the status first, and quotes the API's `error` code exactly when the body
///   is a JSON object whose `error` is a short code (letters, digits, `_-.`) that does not look
///   like an API key; it never carries a line break, a control character or long text, so an
///   upstream cannot forge log lines;
/// - the error code found is the one Foundation reads from the body (with duplicate `error`
///   members, the last as `JSONSerialization` or the first as `JSONDecoder` reads it).
enum VerdictInvariants {
    static let now = Date(timeIntervalSince1970: 1_795_341_600)

    static func check(_ answer: UpstreamAnswer) {
        let response = answer.response
        let verdict = UpstreamVerdict(response: response, request: answer.request, now: now)
        let status = response.status
        let retryAfter = response.headers.retryAfter.flatMap { RetryAfter.delay(from: $0, now: now) }
        let described = "status \(status), \(answer.request), body \(String(decoding: response.body.prefix(200), as: UTF8.self).debugDescription)"

        // The class, from the SPEC's table.
        let isBatchOfSeveral = if case .batch(let count) = answer.request { count > 1 } else { false }
        switch (status, verdict) {
        case (200...299, .delivered):
            break
        case (429, .rateLimited(let wait, _)):
            Invariant.require(wait == retryAfter, "429 waits \(String(describing: wait)), Retry-After says \(String(describing: retryAfter)) (\(described))")
        case (408, .retryable), (500...599, .retryable):
            break
        case (400, .split(let reported, _)), (413, .split(let reported, _)), (422, .split(let reported, _)):
            Invariant.require(isBatchOfSeveral && reported == status, "split for \(described)")
        case (400, .refused(let reported, _)), (413, .refused(let reported, _)), (422, .refused(let reported, _)):
            Invariant.require(!isBatchOfSeveral && reported == status, "refused for \(described)")
        case (300...399, .paused):
            break
        case (401...499, .paused) where ![408, 413, 422, 429].contains(status):
            break
        case (_, .retryable) where !(200...599).contains(status):
            break
        default:
            Invariant.fail("verdict \(verdict) for \(described)")
        }

        // The reason: status first, the API's code when it is safe, nothing else from the body.
        guard let reason = verdict.reason else {
            Invariant.require(verdict == .delivered, "no reason for \(verdict)")
            return
        }
        Invariant.require(reason.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "the reason \(reason.debugDescription) has a control or non-ASCII character (\(described))")
        Invariant.require(reason.utf8.count <= 160, "the reason is \(reason.utf8.count) bytes long (\(described))")
        let code = UpstreamVerdict.apiErrorCode(in: response.body)
        let expectedCode = referenceErrorCode(response.body)
        Invariant.require(
            code == expectedCode || firstMemberReading(response.body).map { $0.differs && code == $0.code } == true,
            "error code \(String(describing: code)), the reference \(String(describing: expectedCode)) (\(described))")
        let head = code.map { "\(status) \($0) from upstream" } ?? "\(status) from upstream"
        Invariant.require(reason.hasPrefix(head) || reason.hasPrefix("unexpected status \(head)"), "the reason \(reason.debugDescription) does not start with \(head.debugDescription) (\(described))")
    }

    /// The `error` member of a JSON object body, if it is a short safe code.
    ///
    /// `JSONSerialization` reads only JSON text, which is UTF-8 (RFC 8259 §8.1): a body with a
    /// byte that is not UTF-8 anywhere, even in a `message` nobody reads, has no code. The relay
    /// agrees since the campaign of 2026-12-07 found it quoting one (crash-message-not-utf8).
    static func referenceErrorCode(_ body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body), options: []) as? NSDictionary,
            let code = object["error"] as? String
        else { return nil }
        return safeCode(code)
    }

    /// The code of the *first* of several `error` members, and whether it differs from the
    /// last. RFC 8259 §4 leaves an object with duplicate names open to each reader:
    /// `JSONSerialization` keeps the last, the relay's decoder the first (CI's fuzz run of
    /// 2026-12-08: `{"error":"invalid_api_key","error":"invalikey"}`). Either is a reading of
    /// the answer, and the invariants above (ASCII, short, no key) hold for both; where the two
    /// readers agree, the reference above stays the only one. Read with Foundation's
    /// `JSONDecoder`, only where the body is JSON text `JSONSerialization` accepts.
    static func firstMemberReading(_ body: [UInt8]) -> (code: String?, differs: Bool)? {
        struct ErrorMember: Decodable { let error: String? }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body), options: []) as? NSDictionary,
            let decoded = try? JSONDecoder().decode(ErrorMember.self, from: Data(body))
        else { return nil }
        let first = decoded.error
        let last = object["error"] as? String
        return (first.flatMap(safeCode), first != last)
    }

    private static func safeCode(_ code: String) -> String? {
        let safe = code.range(of: #"\A[A-Za-z0-9_.-]{1,64}\z"#, options: .regularExpression) != nil
        let lower = code.lowercased()
        guard safe, !lower.hasPrefix("sk_"), !lower.hasPrefix("pk_"), !lower.hasPrefix("rk_") else { return nil }
        return code
    }
}
