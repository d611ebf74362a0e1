import CurlSupport
import Foundation
import MillimetricRelay
import Testing

extension DeliveryDecisionTests {
    @Suite
    struct UpstreamVerdictTests {
        static let requests: [UpstreamVerdict.Request] = [
            .batch(eventCount: 1), .batch(eventCount: 2), .batch(eventCount: 500), .identify, .forget,
        ]

        func body(_ json: String) -> [UInt8] {
            Array(json.utf8)
        }

        @Test(arguments: [200, 201, 202, 204, 299], requests)
        func everyTwoHundredIsDelivered(status: Int, request: UpstreamVerdict.Request) {
            let verdict = UpstreamVerdict(status: status, body: [], retryAfter: nil, request: request)

            #expect(verdict == .delivered)
            #expect(verdict.reason == nil)
        }

        @Test(arguments: requests)
        func tooManyRequestsIsRateLimitedWithItsRetryAfter(request: UpstreamVerdict.Request) {
            let verdict = UpstreamVerdict(
                status: 429,
                body: body(#"{"error":"rate_limited"}"#),
                retryAfter: .seconds(2),
                request: request
            )

            #expect(verdict == .rateLimited(retryAfter: .seconds(2), reason: "429 rate_limited from upstream"))
        }

        @Test func tooManyRequestsWithoutRetryAfterIsStillRateLimited() {
            let verdict = UpstreamVerdict(status: 429, body: [], retryAfter: nil, request: .batch(eventCount: 3))

            #expect(verdict == .rateLimited(retryAfter: nil, reason: "429 from upstream"))
        }

        @Test(arguments: [500, 502, 503, 504, 599, 408], requests)
        func serverErrorsAndRequestTimeoutAreRetryable(status: Int, request: UpstreamVerdict.Request) {
            let verdict = UpstreamVerdict(status: status, body: [], retryAfter: nil, request: request)

            #expect(verdict == .retryable(reason: "\(status) from upstream"))
        }

        @Test(arguments: [400, 413, 422])
        func refusalOfABatchOfSeveralEventsSplitsIt(status: Int) {
            for count in [2, 3, 500] {
                let verdict = UpstreamVerdict(
                    status: status,
                    body: body(#"{"error":"invalid_payload"}"#),
                    retryAfter: nil,
                    request: .batch(eventCount: count)
                )

                #expect(verdict == .split(status: status, reason: "\(status) invalid_payload from upstream"))
            }
        }

        @Test(arguments: [400, 413, 422], [UpstreamVerdict.Request.batch(eventCount: 1), .identify, .forget])
        func refusalOfASingleEventIdentifyOrForgetIsPermanent(status: Int, request: UpstreamVerdict.Request) {
            let verdict = UpstreamVerdict(
                status: status,
                body: body(#"{"error":"invalid_payload"}"#),
                retryAfter: nil,
                request: request
            )

            #expect(verdict == .refused(status: status, reason: "\(status) invalid_payload from upstream"))
        }

        @Test func refusalOfAnEmptyBatchCannotBeSplit() {
            let verdict = UpstreamVerdict(status: 400, body: [], retryAfter: nil, request: .batch(eventCount: 0))

            #expect(verdict == .refused(status: 400, reason: "400 from upstream"))
        }

        @Test(arguments: [
            (401, #"{"error":"invalid_api_key"}"#, "401 invalid_api_key from upstream"),
            (401, #"{"error":"malformed_api_key"}"#, "401 malformed_api_key from upstream"),
            (403, #"{"error":"forget_requires_secret_key"}"#, "403 forget_requires_secret_key from upstream"),
            (403, #"{"error":"origin_not_allowed"}"#, "403 origin_not_allowed from upstream"),
            (404, "<html>Not Found</html>", "404 from upstream"),
        ])
        func authenticationAndRoutingErrorsPauseDelivery(status: Int, json: String, reason: String) {
            for request in Self.requests {
                let verdict = UpstreamVerdict(status: status, body: body(json), retryAfter: nil, request: request)

                #expect(verdict == .paused(reason: reason))
            }
        }

        @Test(arguments: [402, 405, 406, 409, 410, 411, 412, 415, 418, 421, 423, 426, 428, 431, 451, 499], requests)
        func everyOtherClientErrorPausesDelivery(status: Int, request: UpstreamVerdict.Request) {
            let verdict = UpstreamVerdict(status: status, body: [], retryAfter: nil, request: request)

            #expect(verdict == .paused(reason: "\(status) from upstream"))
        }

        @Test(arguments: [301, 302, 307, 308])
        func redirectsPauseDeliveryAndPointAtTheHostSetting(status: Int) {
            let verdict = UpstreamVerdict(status: status, body: [], retryAfter: nil, request: .batch(eventCount: 5))

            guard case .paused(let reason) = verdict else {
                Issue.record("expected paused, got \(verdict)")
                return
            }
            #expect(reason.hasPrefix("\(status) from upstream"))
            #expect(reason.contains("host"))
        }

        @Test(arguments: [0, 100, 199, 600, 999])
        func nonsenseStatusesAreRetried(status: Int) {
            let verdict = UpstreamVerdict(status: status, body: [], retryAfter: nil, request: .identify)

            #expect(verdict == .retryable(reason: "unexpected status \(status) from upstream"))
        }

        @Test(arguments: [
            (#"{"error":"invalid_payload","message":"event missing"}"#, "invalid_payload"),
            (#"  {"ok":false,"error":"rate_limited"}"#, "rate_limited"),
            (#"{"error":"a.b-c_9"}"#, "a.b-c_9"),
        ])
        func apiErrorCodeIsTakenFromTheJSONBody(json: String, code: String) {
            #expect(UpstreamVerdict.apiErrorCode(in: body(json)) == code)
        }

        @Test(arguments: [
            "", "not json", "[1,2]", #"{"error":42}"#, #"{"error":{"code":"x"}}"#, #"{"error":""}"#,
            #"{"error":"has space"}"#, #"{"error":"line\nbreak"}"#, #"{"message":"no code"}"#,
            #"{"error":"sk_live_abc_def_ghij"}"#, #"{"error":"PK_test_a_b_c"}"#,
            #"{"error":"\#(String(repeating: "x", count: 65))"}"#,
            #"{"error":"invalid_payload""#,
        ])
        func apiErrorCodeIsNilWhenAbsentMalformedOrUnsafe(json: String) {
            #expect(UpstreamVerdict.apiErrorCode(in: body(json)) == nil)
        }

        @Test func aKeyEchoedByTheUpstreamNeverReachesTheReason() {
            let key = "sk_live_proj_0123_abcd"
            let verdict = UpstreamVerdict(
                status: 401,
                body: body(#"{"error":"\#(key)","message":"Bearer \#(key)"}"#),
                retryAfter: nil,
                request: .batch(eventCount: 2)
            )

            #expect(verdict == .paused(reason: "401 from upstream"))
        }

        @Test func responseFromCurlIsClassifiedWithItsRetryAfterDate() {
            let now = Date(timeIntervalSince1970: 1_795_341_600)  // Sun, 22 Nov 2026 10:00:00 GMT
            let response = HTTPResponse(
                status: 429,
                headers: HTTPResponse.Headers(retryAfter: "Sun, 22 Nov 2026 10:00:07 GMT"),
                body: body(#"{"error":"rate_limited"}"#)
            )

            let verdict = UpstreamVerdict(response: response, request: .batch(eventCount: 10), now: now)

            #expect(verdict == .rateLimited(retryAfter: .seconds(7), reason: "429 rate_limited from upstream"))
        }

        @Test func unparseableRetryAfterIsDropped() {
            let response = HTTPResponse(status: 429, headers: HTTPResponse.Headers(retryAfter: "soon"))

            let verdict = UpstreamVerdict(response: response, request: .forget, now: Date())

            #expect(verdict == .rateLimited(retryAfter: nil, reason: "429 from upstream"))
        }

        @Test(arguments: CurlError.Kind.allCases)
        func transportErrorsAreRetriedExceptARejectedURL(kind: CurlError.Kind) {
            let error = CurlError(kind: kind, code: 99, summary: "Some curl text", detail: "more detail")

            let verdict = UpstreamVerdict(transportError: error)

            switch (kind, verdict) {
            case (.invalidURL, .paused(let reason)):
                #expect(reason.contains("host"))
                #expect(reason.contains("Some curl text"))
            case (.invalidURL, _):
                Issue.record("a rejected URL should pause delivery, got \(verdict)")
            case (_, .retryable(let reason)):
                #expect(reason.contains("Some curl text: more detail"))
                #expect(reason.contains(kind.rawValue))
            default:
                Issue.record("\(kind) should be retryable, got \(verdict)")
            }
        }

        @Test func transportReasonsReadWell() {
            let error = CurlError(
                kind: .connectFailed,
                code: 7,
                summary: "Couldn't connect to server",
                detail: "Failed to connect to api.millimetric.ai port 443 after 3 ms: Couldn't connect to server"
            )

            #expect(
                UpstreamVerdict(transportError: error).reason
                    == "cannot connect to upstream: connectFailed (curl 7: Couldn't connect to server: Failed to connect to api.millimetric.ai port 443 after 3 ms: Couldn't connect to server)"
            )
        }
    }
}
