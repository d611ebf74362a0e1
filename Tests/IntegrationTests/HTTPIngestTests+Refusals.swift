import Foundation
import RelayTestKit
import Testing

/// Every refusal of SPEC §4b, in the API's status codes and shape, and nothing stored for any.
extension HTTPIngestTests {
    static let trackBody = #"{"event":"signup","user_id":"user_1"}"#

    static func expectRefusal(_ answer: RelayProcess.HTTPAnswer, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == status, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.json["ok"] as? Bool == false, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.error == code, "\(answer.body)", sourceLocation: sourceLocation)
        #expect((answer.json["message"] as? String)?.isEmpty == false, "\(answer.body)", sourceLocation: sourceLocation)
    }

    @Test func everyRefusalHasTheAPIsStatusAndShapeAndStoresNothing() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9")
        defer { relay.terminate() }
        let body = ["--data-binary", Self.trackBody]

        Self.expectRefusal(try relay.curl("POST", "/v1/track", key: nil, body), 401, "malformed_api_key")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", key: "nonsense", body), 401, "malformed_api_key")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", key: "sk_live_another_key", body), 401, "invalid_api_key")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", key: String(Self.key.dropLast()) + "2", body), 401, "invalid_api_key")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", key: "pk_live_browser_key", body), 403, "origin_not_allowed")
        Self.expectRefusal(try relay.curl("POST", "/v1/forget", key: "pk_live_browser_key", ["--data-binary", #"{"user_id":"u"}"#]), 403, "forget_requires_secret_key")
        Self.expectRefusal(try relay.curl("POST", "/v1/nope", body), 404, "not_found")
        Self.expectRefusal(try relay.curl("GET", "/v1/track"), 405, "method_not_allowed")
        let malformed = try relay.curl("POST", "/v1/track", ["--data-binary", #"{"event":"#])
        Self.expectRefusal(malformed, 400, "invalid_payload")
        #expect((malformed.json["message"] as? String)?.contains("end of the body") == true, "\(malformed.body)")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", ["--data-binary", "[1]"]), 400, "invalid_payload")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", ["--data-binary", #"{"user_id":"u"}"#]), 400, "invalid_payload")
        Self.expectRefusal(try relay.curl("POST", "/v1/identify", ["--data-binary", #"{"user_id":"u"}"#]), 400, "invalid_payload")

        // A batch with one bad event: refused naming its index, and none of it is stored.
        let good = (0..<5).map { #"{"event":"ok","event_id":"batch-good-\#($0)"}"# }
        let mixed = #"{"events":[\#(good[0]),\#(good[1]),{"event":""},\#(good[2])]}"#
        let refused = try relay.curl("POST", "/v1/batch", ["--data-binary", mixed])
        Self.expectRefusal(refused, 400, "invalid_payload")
        #expect((refused.json["message"] as? String)?.hasPrefix("events[2]: event") == true, "\(refused.body)")
        Self.expectRefusal(try relay.curl("POST", "/v1/batch", ["--data-binary", #"{"events":[]}"#]), 400, "invalid_payload")
        Self.expectRefusal(try relay.curl("POST", "/v1/batch", ["--data-binary", #"{"events":{}}"#]), 400, "invalid_payload")

        // 413: more than 500 events; a body over 262,144 bytes, by Content-Length and chunked.
        let many = #"{"events":[\#(Array(repeating: #"{"event":"e"}"#, count: 501).joined(separator: ","))]}"#
        Self.expectRefusal(try relay.curl("POST", "/v1/batch", ["--data-binary", many]), 413, "payload_too_large")
        let bigFile = relay.directory.appendingPathComponent("big.json")
        try Data((#"{"event":"big","properties":{"p":""# + String(repeating: "x", count: 262_144) + #""}}"#).utf8).write(to: bigFile)
        Self.expectRefusal(try relay.curl("POST", "/v1/track", ["--data-binary", "@\(bigFile.path)"]), 413, "payload_too_large")
        Self.expectRefusal(try relay.curl("POST", "/v1/track", ["-H", "Transfer-Encoding: chunked", "--data-binary", "@\(bigFile.path)"]), 413, "payload_too_large")

        #expect(try relay.queuedEventIDs().isEmpty)

        // And a good request on the same relay is accepted.
        let ok = try relay.curl("POST", "/v1/batch", ["--data-binary", #"{"events":[\#(good.joined(separator: ","))]}"#])
        #expect(ok.status == 202, "\(ok.body)")
        #expect(ok.json["event_ids"] as? [String] == (0..<5).map { "batch-good-\($0)" })
        #expect(Set(try relay.queuedEventIDs().keys) == Set((0..<5).map { "batch-good-\($0)" }))
    }

    @Test func aFullOutboxAnswers503WithRetryAfterAndABatchIsAllOrNothing() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9", environment: ["MILLIMETRIC_RELAY_MAX_OUTBOX_BYTES": "2000"])
        defer { relay.terminate() }
        // About 70 bytes stored per event: 60 do not fit in 2,000 bytes, though the first 28 would.
        let batch = #"{"events":[\#((0..<60).map { #"{"event":"fill","event_id":"batch-\#($0)"}"# }.joined(separator: ","))]}"#
        Self.expectRefusal(try relay.curl("POST", "/v1/batch", ["--data-binary", batch]), 503, "outbox_full")
        #expect(try relay.queuedEventIDs().isEmpty)

        var answers: [RelayProcess.HTTPAnswer] = []
        for index in 0..<40 {
            answers.append(try relay.curl("POST", "/v1/track", ["--data-binary", #"{"event":"fill","event_id":"fill-\#(index)"}"#]))
        }
        #expect(answers.first?.status == 202)
        let full = try #require(answers.first { $0.status != 202 })
        Self.expectRefusal(full, 503, "outbox_full")
        let headers = try relay.curl("POST", "/v1/track", ["-D", "-", "--data-binary", #"{"event":"fill"}"#])
        #expect(headers.body.lowercased().contains("retry-after: "), "\(headers.body)")
        #expect(try relay.queuedEventIDs().count == answers.filter { $0.status == 202 }.count)
    }

    @Test func healthzAnswers200WhileAccepting() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9")
        defer { relay.terminate() }
        let health = try relay.curl("GET", "/healthz", key: nil)
        #expect(health.status == 200)
        #expect(health.json["ok"] as? Bool == true)
    }

    @Test func theListenerServesAUnixSocketToo() throws {
        let probe = try RelayProcess(host: "http://127.0.0.1:9", start: false)
        let path = probe.directory.appendingPathComponent("http.sock").path
        probe.environment["MILLIMETRIC_RELAY_HTTP_LISTEN"] = "unix:\(path)"
        try probe.start()
        defer { probe.terminate() }
        #expect(RelayProcess.eventually { FileManager.default.fileExists(atPath: path) })
        let (code, output) = try RelayProcess.runCLIProcess("/usr/bin/curl", [
            "-sS", "-w", "\n%{http_code}", "--unix-socket", path, "-X", "POST", "http://relay/v1/track",
            "-H", "Authorization: Bearer \(Self.key)", "-d", #"{"event":"over_unix","event_id":"unix-1"}"#,
        ])
        #expect(code == 0, "\(output)")
        #expect(output.hasSuffix("\n202"), "\(output)")
        #expect(try probe.queuedEventIDs()["unix-1"] == 1)
        #expect(probe.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
