import NIOHTTP1

@testable import MillimetricRelay

/// The answers the listener owes for the requests NIO parsed, written plainly from SPEC §4b and
/// the API's documented order (route, method, key, body), independently of the handler. What an
/// event body is worth is asked of the relay's validator (checked on its own by FuzzIngest);
/// the outbox writer is closed, so a request that passes everything reaches it and is refused
/// `shutting_down` with the writer's own message.
struct ExpectedAnswers {
    struct Answer: Equatable {
        var status: Int
        var code: String
        /// The connection closes after this answer (HTTP/1.0, `Connection: close`, a refused body).
        var closeAfter: Bool
        /// Whether the request got as far as the outbox writer: only with the right key.
        var reachedWriter = false
        var allow: String?
    }

    static let key = "sk_live_relay_key_0001"
    static let bodyLimit = 262_144
    /// The writer's refusal once closed (OutboxWriter.submit), as the handler passes it on.
    static let writerClosedMessage = "the relay is stopping; nothing was stored, send again later"

    private(set) var answers: [Answer] = []
    /// Heads that asked for `100 Continue`.
    private(set) var expectations = 0
    private var validator = EventValidator()

    init(_ parts: [RequestTap.Part]) {
        var receiving: (head: HTTPRequestHead, body: [UInt8])?
        for part in parts {
            switch part {
            case .head(let head):
                if head.headers["expect"].contains(where: { $0.lowercased().contains("100-continue") }) { expectations += 1 }
                if let claimed = head.headers.first(name: "content-length").flatMap({ Int($0) }), claimed > Self.bodyLimit {
                    answers.append(Answer(status: 413, code: "payload_too_large", closeAfter: true))
                    return
                }
                receiving = (head, [])
            case .body(let chunk):
                guard var request = receiving else { continue }
                if request.body.count + chunk.count > Self.bodyLimit {
                    answers.append(Answer(status: 413, code: "payload_too_large", closeAfter: true))
                    return
                }
                receiving = nil
                request.body += chunk
                receiving = request
            case .end:
                guard let request = receiving else { continue }
                receiving = nil
                var answer = judge(request.head, request.body)
                answer.closeAfter = !request.head.isKeepAlive
                answers.append(answer)
                if answer.closeAfter { return }
            }
        }
    }

    private mutating func judge(_ head: HTTPRequestHead, _ body: [UInt8]) -> Answer {
        let path = String(head.uri.prefix { $0 != "?" })
        let routes: [String: (method: HTTPMethod, kind: EventKind?)] = [
            "/v1/track": (.POST, .track), "/v1/identify": (.POST, .identify), "/v1/forget": (.POST, .forget),
            "/v1/batch": (.POST, nil), "/healthz": (.GET, nil),
        ]
        guard let route = routes[path] else { return Answer(status: 404, code: "not_found", closeAfter: false) }
        guard head.method == route.method else {
            return Answer(status: 405, code: "method_not_allowed", closeAfter: false, allow: route.method.rawValue)
        }
        if path == "/healthz" { return Answer(status: 503, code: "shutting_down", closeAfter: false) }
        if let refusal = Self.judgeKey(head.headers.first(name: "authorization"), forget: path == "/v1/forget") {
            return Answer(status: refusal.status, code: refusal.code, closeAfter: false)
        }
        let stamp = Array("2026-11-22T10:00:00.000Z".utf8)
        if let kind = route.kind {
            if case .failure = body.withUnsafeBytes({ validator.validate($0, receivedTimestamp: stamp, fixedKind: kind) }) {
                return Answer(status: 400, code: "invalid_payload", closeAfter: false)
            }
        } else {
            var scratch: [UInt8] = []
            switch body.withUnsafeBytes({ HTTPBatchBody.events(in: $0, scratch: &scratch) }) {
            case .failure(let error):
                return Answer(status: Int(error.status.code), code: error.code, closeAfter: false)
            case .success(let members):
                // Each member is a range of the body, validated where it lies (as the handler does).
                for member in members {
                    let result = body.withUnsafeBytes {
                        validator.validate(UnsafeRawBufferPointer(rebasing: $0[member]), receivedTimestamp: stamp, fixedKind: .track)
                    }
                    if case .failure = result {
                        return Answer(status: 400, code: "invalid_payload", closeAfter: false)
                    }
                }
            }
        }
        return Answer(status: 503, code: "shutting_down", closeAfter: false, reachedWriter: true)
    }

    /// The API's key rules: `Bearer <key>`, the key `(pk|sk|rk)_*_*_*` of visible ASCII; a
    /// publishable key is 403; any key but the relay's own is 401.
    static func judgeKey(_ authorization: String?, forget: Bool) -> (status: Int, code: String)? {
        guard let authorization else { return (401, "malformed_api_key") }
        let bytes = Array(authorization.utf8)
        guard let space = bytes.firstIndex(of: 0x20) else { return (401, "malformed_api_key") }
        let scheme = String(decoding: bytes[..<space], as: UTF8.self)
        // NIO has trimmed the value, so the scheme is its first word.
        guard scheme.lowercased() == "bearer" else { return (401, "malformed_api_key") }
        let key = bytes[(space + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
        let parts = key.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard parts.count >= 4, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x21...0x7E).contains($0) } }),
            ["pk", "sk", "rk"].contains(String(decoding: parts[0], as: UTF8.self))
        else { return (401, "malformed_api_key") }
        if parts[0].elementsEqual("pk".utf8) { return (403, forget ? "forget_requires_secret_key" : "origin_not_allowed") }
        guard key.elementsEqual(Self.key.utf8) else { return (401, "invalid_api_key") }
        return nil
    }
}
