import Foundation
import RelayTestKit
import Synchronization
import Testing

/// The Millimetric API stand-in, run as the real `millimetric-api-standin` process.
///
/// The relay's integration tests trust the stand-in as their oracle for "what would the API
/// have done", so its contract (auth rules, limits, validation messages, idempotency, faults and
/// the admin log) is pinned down here. Each test starts its own stand-in on a free port, so the
/// tests are independent and run in parallel.
@Suite("Millimetric API stand-in")
struct StandInTests {
    // MARK: - Ingest

    @Test func acceptsABatchAndKeepsEachEventAsReceived() throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let response = try api.post(
            "/v1/batch",
            json: """
                {"events": [
                  {"event": "signup", "event_id": "e-1", "user_id": "user_1", "properties": {"plan": "free"}},
                  {"event":"purchase","event_id":"e-2","user_id":null,"url":"https://example.com/a/b"}
                ]}
                """
        )

        #expect(response.status == 202)
        #expect(response.headers["content-type"] == "application/json")
        let body = try response.json()
        #expect(body["ok"] as? Bool == true)
        #expect(body["accepted"] as? Int == 2)
        #expect(body["duplicates"] as? Int == 0)
        let dump = try #require(String(data: try api.admin("/_admin/events").body, encoding: .utf8))
        #expect(
            dump == """
                {"event": "signup", "event_id": "e-1", "user_id": "user_1", "properties": {"plan": "free"}}
                {"event":"purchase","event_id":"e-2","user_id":null,"url":"https://example.com/a/b"}

                """
        )
    }

    @Test func trackAnswersTheEventIDAndGeneratesOneWhenAbsent() throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let given = try api.post("/v1/track", json: #"{"event":"signup","event_id":"given-1"}"#)
        let generated = try api.post("/v1/track", json: #"{"event":"signup"}"#)

        #expect(given.status == 202)
        #expect(try given.json()["event_id"] as? String == "given-1")
        #expect(generated.status == 202)
        let id = try #require(try generated.json()["event_id"] as? String)
        #expect(UUID(uuidString: id) != nil)
    }

    @Test func identifyAndForgetNeedTheirUserFields() throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let identify = try api.post("/v1/identify", json: #"{"anonymous_id":"a-1","user_id":"user_1","traits":{}}"#)
        let noAnonymous = try api.post("/v1/identify", json: #"{"user_id":"user_1"}"#)
        let noUser = try api.post("/v1/forget", json: #"{}"#)

        #expect(identify.status == 202)
        #expect(try identify.json()["ok"] as? Bool == true)
        #expect(noAnonymous.status == 400)
        #expect(try noAnonymous.json()["message"] as? String == "anonymous_id: required")
        #expect(noUser.status == 400)
        #expect(try noUser.json()["message"] as? String == "user_id: required")
        #expect(try api.stats()["identifies"] as? Int == 1)
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        let connection = try api.connect()
        let headers = ["Authorization": "Bearer \(StandInProcess.secretKey)", "Content-Type": "application/json"]

        for index in 0..<3 {
            let body = Data(#"{"events":[{"event":"tick","event_id":"k-\#(index)"}]}"#.utf8)
            let response = try connection.send("POST", "/v1/batch", headers: headers, body: body)
            #expect(response.status == 202)
        }
        #expect(try api.stats()["events"] as? Int == 3)
    }

    @Test func unknownPathIs404() throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let response = try api.post("/v1/nothing", json: "{}")

        #expect(response.status == 404)
        #expect(try response.json()["error"] as? String == "not_found")
    }

    // MARK: - Keys

    struct KeyCase: Sendable, CustomTestStringConvertible {
        let path: String
        let key: String?
        let status: Int
        let error: String?

        var testDescription: String { "\(self.key ?? "no key") on \(self.path) → \(self.status)" }

        var body: String {
            switch self.path {
            case "/v1/forget": #"{"user_id":"user_1"}"#
            case "/v1/track": #"{"event":"signup"}"#
            default: #"{"events":[{"event":"signup"}]}"#
            }
        }
    }

    @Test(arguments: [
        KeyCase(path: "/v1/batch", key: nil, status: 401, error: "malformed_api_key"),
        KeyCase(path: "/v1/batch", key: "sk_live", status: 401, error: "malformed_api_key"),
        KeyCase(path: "/v1/batch", key: "sk_live__abc", status: 401, error: "malformed_api_key"),
        KeyCase(path: "/v1/batch", key: "xk_live_abc_123", status: 401, error: "malformed_api_key"),
        KeyCase(path: "/v1/batch", key: "pk_live_abc_123", status: 403, error: "origin_not_allowed"),
        KeyCase(path: "/v1/forget", key: "pk_live_abc_123", status: 403, error: "forget_requires_secret_key"),
        KeyCase(path: "/v1/track", key: "rk_live_abc_123", status: 403, error: "read_only_key"),
        KeyCase(path: "/v1/forget", key: "sk_live_abc_123", status: 202, error: nil),
    ])
    func keysAreJudgedAsTheAPIJudgesThem(_ keyCase: KeyCase) throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let response = try api.post(keyCase.path, json: keyCase.body, key: keyCase.key)

        #expect(response.status == keyCase.status)
        if let error = keyCase.error {
            #expect(try response.json()["error"] as? String == error)
        }
    }

    @Test func keysNotListedWithKeysAreInvalid() throws {
        let api = try StandInProcess(arguments: ["--keys", "sk_live_known_0001,pk_live_known_0002"])
        defer { api.stop() }
        let body = #"{"events":[{"event":"signup"}]}"#

        let unknown = try api.post("/v1/batch", json: body, key: "sk_live_other_0003")
        let known = try api.post("/v1/batch", json: body, key: "sk_live_known_0001")
        let knownPublishable = try api.post("/v1/batch", json: body, key: "pk_live_known_0002")

        #expect(unknown.status == 401)
        #expect(try unknown.json()["error"] as? String == "invalid_api_key")
        #expect(known.status == 202)
        #expect(knownPublishable.status == 403)
    }

    // MARK: - Limits and validation

    @Test func bodyOverTheLimitIs413AndABodyAtTheLimitIsNot() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        let json = #"{"events":[{"event":"signup","event_id":"padded"}]}"#
        let atLimit = json + String(repeating: " ", count: 262_144 - json.utf8.count)

        let accepted = try api.post("/v1/batch", json: atLimit)
        let refused = try api.post("/v1/batch", json: atLimit + " ")

        #expect(accepted.status == 202)
        #expect(refused.status == 413)
        #expect(try refused.json()["error"] as? String == "payload_too_large")
        #expect(refused.headers["connection"] == "close")
        let statuses = try api.log().map { $0["status"] as? Int }
        #expect(statuses == [202, 413])
    }

    struct BadBatch: Sendable, CustomTestStringConvertible {
        let badEvent: String
        let index: Int
        let message: String

        var testDescription: String { self.message }

        /// Five events, the bad one at `index`.
        var json: String {
            var events = (0..<5).map { #"{"event":"ok","event_id":"good-\#($0)","user_id":"user_1"}"# }
            events[self.index] = self.badEvent
            return #"{"events":[\#(events.joined(separator: ","))]}"#
        }
    }

    @Test(arguments: [
        BadBatch(
            badEvent: #"{"event":"big","properties":{"p":"\#(String(repeating: "x", count: 8_185))"}}"#,
            index: 3,
            message: "events[3].properties: larger than 8 KB"
        ),
        BadBatch(badEvent: #"{"event_id":"no-name"}"#, index: 1, message: "events[1].event: required"),
        BadBatch(
            badEvent: #"{"event":"\#(String(repeating: "😀", count: 65))"}"#,
            index: 0,
            message: "events[0].event: must be 1–128 characters, got 130"
        ),
        BadBatch(
            badEvent: #"{"event":"x","event_id":""}"#,
            index: 4,
            message: "events[4].event_id: must be 1–128 characters, got 0"
        ),
        BadBatch(
            badEvent: #"{"event":"x","timestamp":"2026-02-30T10:00:00Z"}"#,
            index: 2,
            message: "events[2].timestamp: not an ISO 8601 date"
        ),
        BadBatch(
            badEvent: #"{"event":"x","user_id":42}"#,
            index: 4,
            message: "events[4].user_id: must be a string or null"
        ),
        BadBatch(
            badEvent: #"{"event":"x","properties":[1]}"#,
            index: 0,
            message: "events[0].properties: must be a JSON object"
        ),
        BadBatch(badEvent: #""just a string""#, index: 2, message: "events[2]: must be a JSON object"),
    ])
    func oneBadEventRefusesTheWholeBatchNamingItsIndex(_ batch: BadBatch) throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let response = try api.post("/v1/batch", json: batch.json)

        #expect(response.status == 400)
        let body = try response.json()
        #expect(body["ok"] as? Bool == false)
        #expect(body["error"] as? String == "invalid_payload")
        #expect(body["message"] as? String == batch.message)
        #expect(try api.stats()["events"] as? Int == 0)
    }

    @Test func limitsAreInclusiveAndCountedAsTheAPICountsThem() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        // {"p":"…"} is 8 bytes plus the padding: 8,184 characters make exactly 8 KB.
        let properties = #"{"p":"\#(String(repeating: "x", count: 8_184))"}"#
        // 64 emoji are 128 UTF-16 code units.
        let name = String(repeating: "😀", count: 64)

        let response = try api.post(
            "/v1/batch",
            json:
                #"{"events":[{"event":"\#(name)","properties":\#(properties),"timestamp":"2026-11-22T10:00:00.123+01:00"}]}"#
        )

        #expect(response.status == 202)
    }

    @Test func batchesHoldOneTo500Events() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        func batch(_ count: Int) -> String {
            #"{"events":[\#((0..<count).map { #"{"event":"e","event_id":"n-\#($0)"}"# }.joined(separator: ","))]}"#
        }

        let empty = try api.post("/v1/batch", json: batch(0))
        let full = try api.post("/v1/batch", json: batch(500))
        let over = try api.post("/v1/batch", json: batch(501))
        let notJSON = try api.post("/v1/batch", json: "{events:")

        #expect(empty.status == 400)
        #expect(full.status == 202)
        #expect(try full.json()["accepted"] as? Int == 500)
        #expect(over.status == 400)
        #expect(try over.json()["message"] as? String == "events: must hold 1 to 500 events, got 501")
        #expect(notJSON.status == 400)
        #expect(try notJSON.json()["error"] as? String == "invalid_payload")
    }

    @Test func repeatedEventIDsAreCountedAsDuplicatesAndStoredOnce() throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let first = try api.post(
            "/v1/batch",
            json: #"{"events":[{"event":"a","event_id":"A"},{"event":"b","event_id":"B"}]}"#
        )
        let second = try api.post(
            "/v1/batch",
            json:
                #"{"events":[{"event":"b","event_id":"B"},{"event":"c","event_id":"C"},{"event":"c","event_id":"C"}]}"#
        )
        let track = try api.post("/v1/track", json: #"{"event":"a","event_id":"A"}"#)

        #expect(try first.json()["accepted"] as? Int == 2)
        #expect(try second.json()["accepted"] as? Int == 1)
        #expect(try second.json()["duplicates"] as? Int == 2)
        #expect(track.status == 202)
        #expect(try track.json()["duplicate"] as? Bool == true)
        let stats = try api.stats()
        #expect(stats["events"] as? Int == 3)
        #expect(stats["duplicates"] as? Int == 3)
        #expect(try api.events().map { $0["event_id"] as? String } == ["A", "B", "C"])
    }

    // MARK: - Rate limits

    @Test func batchesOverTheRateLimitGet429WithRetryAfter() throws {
        // One token per 10 s: no token comes back while the test runs, however slow the machine.
        let api = try StandInProcess(arguments: ["--batch-rate", "0.1", "--batch-burst", "2"])
        defer { api.stop() }
        let body = #"{"events":[{"event":"e"}]}"#

        let statuses = try (0..<3).map { _ in try api.post("/v1/batch", json: body) }

        #expect(statuses.map(\.status) == [202, 202, 429])
        #expect(try statuses[2].json()["error"] as? String == "rate_limited")
        let retryAfter = try #require(statuses[2].headers["retry-after"].flatMap { Int($0) })
        #expect(retryAfter >= 1 && retryAfter <= 10)

        try api.setFaults(["rate_limits": false])
        #expect(try api.post("/v1/batch", json: body).status == 202)
    }

    @Test func trackIdentifyAndForgetShareOneRateLimit() throws {
        let api = try StandInProcess(arguments: ["--track-rate", "0.1", "--track-burst", "2"])
        defer { api.stop() }

        let track = try api.post("/v1/track", json: #"{"event":"e"}"#)
        let identify = try api.post("/v1/identify", json: #"{"anonymous_id":"a","user_id":"u"}"#)
        let forget = try api.post("/v1/forget", json: #"{"user_id":"u"}"#)
        let batch = try api.post("/v1/batch", json: #"{"events":[{"event":"e"}]}"#)

        #expect([track.status, identify.status, forget.status] as [Int] == [202, 202, 429])
        #expect(forget.headers["retry-after"] != nil)
        #expect(batch.status == 202)
    }

    // MARK: - Faults

    @Test func downAnswers503ToEveryAPIRequestButNotToAdmin() throws {
        let api = try StandInProcess(arguments: ["--down"])
        defer { api.stop() }

        let batch = try api.post("/v1/batch", json: #"{"events":[{"event":"e"}]}"#)
        let track = try api.post("/v1/track", json: #"{"event":"e"}"#)
        let stats = try api.stats()
        try api.setFaults(["down": false])
        let after = try api.post("/v1/track", json: #"{"event":"e"}"#)

        #expect(batch.status == 503)
        #expect(try batch.json()["error"] as? String == "unavailable")
        #expect(track.status == 503)
        #expect((stats["by_status"] as? [String: Int])?["503"] == 2)
        #expect(after.status == 202)
    }

    @Test func forcedStatusAppliesToTheNextRequestsWithRetryAfterThenClears() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        let body = #"{"events":[{"event":"e"}]}"#

        let state = try api.setFaults(["force_status": 503, "force_count": 2, "retry_after": "3"])
        let responses = try (0..<3).map { _ in try api.post("/v1/batch", json: body) }
        let cleared = try Self.object(try api.admin("/_admin/faults").body)

        #expect(state["force_status"] as? Int == 503)
        #expect(state["force_count"] as? Int == 2)
        #expect(responses.map(\.status) == [503, 503, 202])
        #expect(responses[0].headers["retry-after"] == "3")
        #expect(try responses[1].json()["error"] as? String == "forced")
        #expect(responses[2].headers["retry-after"] == nil)
        #expect(cleared["force_status"] is NSNull)
        #expect(cleared["force_count"] is NSNull)
        #expect(cleared["retry_after"] as? String == "3")
        #expect(try api.stats()["events"] as? Int == 1)
    }

    @Test func faultUpdatesWithUnknownFieldsOrWrongTypesAreRefused() throws {
        let api = try StandInProcess()
        defer { api.stop() }

        let typo = try api.admin("/_admin/faults", body: ["dwon": true])
        let wrongType = try api.admin("/_admin/faults", body: ["latency_ms": "slow"])
        let boolAsNumber = try api.admin("/_admin/faults", body: ["down": 1])
        let faults = try Self.object(try api.admin("/_admin/faults").body)
        let retryAfterSeconds = try api.setFaults(["retry_after": 7])

        #expect(typo.status == 400)
        #expect(try Self.object(typo.body)["error"] as? String == "invalid_faults")
        #expect(wrongType.status == 400)
        #expect(boolAsNumber.status == 400)
        #expect(faults["down"] as? Bool == false)
        #expect(faults["latency_ms"] as? Int == 0)
        #expect(retryAfterSeconds["retry_after"] as? String == "7")
    }

    @Test func latencyDelaysAnswersWithoutBlockingTheEventLoops() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        try api.setFaults(["latency_ms": 1_000])

        // Four connections at once, spread over the stand-in's event loops. Had the delay blocked
        // a loop, the request behind it on that loop would only be read a second later.
        let started = ContinuousClock.now
        let statuses = Collected()
        let threads = (0..<4).map { index in
            Thread {
                let status = try? api.post("/v1/track", json: #"{"event":"slow","event_id":"slow-\#(index)"}"#).status
                statuses.values.withLock { $0.append(status ?? -1) }
            }
        }
        threads.forEach { $0.start() }
        while statuses.values.withLock({ $0.count }) < 4 { usleep(5_000) }
        let elapsed = ContinuousClock.now - started

        #expect(statuses.values.withLock { $0 } == [202, 202, 202, 202])
        #expect(elapsed >= .milliseconds(1_000))
        let log = try api.log()
        let received = log.compactMap { $0["received_ms"] as? Int }
        let answered = log.compactMap { $0["at_ms"] as? Int }
        #expect(received.count == 4 && answered.count == 4)
        #expect((received.max() ?? 0) - (received.min() ?? 0) < 1_000)
        for (receivedAt, answeredAt) in zip(received, answered) {
            #expect(answeredAt - receivedAt >= 999)
        }
    }

    @Test func dropConnectionsClosesWithoutAnAnswerAndStoresNothing() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        try api.setFaults(["drop_connections": true])

        #expect(throws: TestKitError.connectionClosed) {
            try api.post("/v1/batch", json: #"{"events":[{"event":"e","event_id":"dropped-1"}]}"#)
        }
        try api.setFaults(["drop_connections": false])
        let retry = try api.post("/v1/batch", json: #"{"events":[{"event":"e","event_id":"dropped-1"}]}"#)

        #expect(retry.status == 202)
        #expect(try retry.json()["accepted"] as? Int == 1)
        let log = try api.log()
        #expect(log.map { $0["status"] as? Int } == [0, 202])
        #expect(log.map { ($0["event_ids"] as? [String]) ?? [] } == [["dropped-1"], ["dropped-1"]])
        #expect(try api.stats()["dropped"] as? Int == 1)
    }

    @Test func rejectEventMarkerRefusesEventsThatCarryIt() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        try api.setFaults(["reject_event_marker": "poison-pill"])
        let poisoned = #"{"events":[{"event":"a"},{"event":"b"},{"event":"c","properties":{"note":"poison-pill"}}]}"#

        let batch = try api.post("/v1/batch", json: poisoned)
        let track = try api.post("/v1/track", json: #"{"event":"poison-pill"}"#)
        let clean = try api.post("/v1/batch", json: #"{"events":[{"event":"a"}]}"#)
        try api.setFaults(["reject_event_marker": NSNull()])
        let cured = try api.post("/v1/batch", json: poisoned)

        #expect(batch.status == 400)
        #expect(try batch.json()["message"] as? String == "events[2]: rejected (contains reject_event_marker)")
        #expect(track.status == 400)
        #expect(try track.json()["error"] as? String == "invalid_payload")
        #expect(clean.status == 202)
        #expect(cured.status == 202)
        #expect(try api.stats()["events"] as? Int == 4)
    }

    // MARK: - Admin

    @Test func adminLogRecordsEveryAPIRequestInArrivalOrder() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        let before = Int(Date().timeIntervalSince1970 * 1_000)

        _ = try api.post(
            "/v1/batch",
            json: #"{"events":[{"event":"a","event_id":"e-1"},{"event":"b","user_id":"user_2"}]}"#
        )
        _ = try api.post("/v1/track", json: #"{"event":"c","event_id":"e-3","user_id":"user_3"}"#)
        _ = try api.post("/v1/identify", json: #"{"anonymous_id":"anon","user_id":"user_4"}"#)
        _ = try api.post("/v1/forget", json: #"{"user_id":"user_4"}"#)
        _ = try api.post("/v1/batch", json: #"{"events":[{"event":"d","event_id":"e-5"}]}"#, key: "sk_bad")
        let after = Int(Date().timeIntervalSince1970 * 1_000) + 1

        let log = try api.log()
        #expect(log.map { $0["seq"] as? Int } == [1, 2, 3, 4, 5])
        #expect(
            log.map { $0["path"] as? String } == ["/v1/batch", "/v1/track", "/v1/identify", "/v1/forget", "/v1/batch"]
        )
        #expect(log.map { $0["status"] as? Int } == [202, 202, 202, 202, 401])
        #expect(log.map { Self.strings($0["event_ids"]) } == [["e-1", nil], ["e-3"], [], [], ["e-5"]])
        #expect(
            log.map { Self.strings($0["user_ids"]) } == [[nil, "user_2"], ["user_3"], ["user_4"], ["user_4"], [nil]]
        )
        for entry in log {
            let received = try #require(entry["received_ms"] as? Int)
            let answered = try #require(entry["at_ms"] as? Int)
            #expect(before <= received && received <= answered && answered <= after)
        }
        let stats = try api.stats()
        #expect(stats["requests"] as? Int == 5)
        #expect((stats["by_path"] as? [String: Int])?["/v1/batch"] == 2)
        #expect((stats["by_status"] as? [String: Int]) == ["202": 4, "401": 1])
    }

    @Test func forgetDeletesTheUsersStoredEventsAndIdentifies() throws {
        let api = try StandInProcess()
        defer { api.stop() }
        _ = try api.post(
            "/v1/batch",
            json:
                #"{"events":[{"event":"a","event_id":"u1-a","user_id":"u1"},{"event":"b","event_id":"u2-b","user_id":"u2"},{"event":"c","event_id":"anon-c"}]}"#
        )
        _ = try api.post("/v1/track", json: #"{"event":"d","event_id":"u1-d","user_id":"u1"}"#)
        _ = try api.post("/v1/identify", json: #"{"anonymous_id":"anon","user_id":"u1"}"#)

        let forget = try api.post("/v1/forget", json: #"{"user_id":"u1"}"#)

        #expect(forget.status == 202)
        #expect(try forget.json()["deleted"] as? Int == 3)
        let events = try api.events()
        #expect(events.map { $0["event_id"] as? String } == ["u2-b", "anon-c", nil])
        #expect(events.last?["_endpoint"] as? String == "/v1/forget")
        #expect(events.last?["user_id"] as? String == "u1")
        let stats = try api.stats()
        #expect(stats["events"] as? Int == 2)
        #expect(stats["forgets"] as? Int == 1)
    }

    @Test func resetClearsStateAndReturnsToTheCommandLineSettings() throws {
        let api = try StandInProcess(arguments: ["--no-rate-limits"])
        defer { api.stop() }
        _ = try api.post("/v1/batch", json: #"{"events":[{"event":"a","event_id":"r-1"}]}"#)
        try api.setFaults(["down": true, "latency_ms": 5])

        try api.reset()

        let stats = try api.stats()
        #expect(stats["requests"] as? Int == 0)
        #expect(stats["events"] as? Int == 0)
        #expect(try api.log().isEmpty)
        #expect(try api.events().isEmpty)
        let faults = try Self.object(try api.admin("/_admin/faults").body)
        #expect(faults["down"] as? Bool == false)
        #expect(faults["latency_ms"] as? Int == 0)
        #expect(faults["rate_limits"] as? Bool == false)
        let again = try api.post("/v1/batch", json: #"{"events":[{"event":"a","event_id":"r-1"}]}"#)
        #expect(try again.json()["accepted"] as? Int == 1)
    }

    // MARK: - Command line

    @Test(arguments: ["192.0.2.1", "0.0.0.0", "example.com"])
    func refusesToListenBeyondLoopback(host: String) throws {
        #expect(try StandInProcess.exitStatus(arguments: ["--host", host, "--port", "0"]) == 64)
    }

    @Test func exitsCleanlyOnSIGTERM() throws {
        let api = try StandInProcess()
        _ = try api.post("/v1/track", json: #"{"event":"e"}"#)

        #expect(api.stop() == 0)
    }

    // MARK: - Helpers

    /// Results gathered from helper threads.
    private final class Collected: Sendable {
        let values = Mutex<[Int]>([])
    }

    private static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A JSON array of strings and nulls as `[String?]`.
    private static func strings(_ value: Any?) -> [String?] {
        (value as? [Any] ?? []).map { $0 as? String }
    }
}
