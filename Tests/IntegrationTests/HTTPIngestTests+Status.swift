import Foundation
import RelayTestKit
import Testing

/// `status` counts HTTP requests by path and status beside the socket's lines, from the
/// database, so the counts are there while the daemon is stopped and after a restart.
extension HTTPIngestTests {
    @Test func statusCountsHTTPRequestsByPathAndStatusBesideTheSocketsLines() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9")
        defer { relay.terminate() }
        let body = ["--data-binary", Self.trackBody]
        #expect(try relay.curl("POST", "/v1/track", body).status == 202)
        #expect(try relay.curl("POST", "/v1/track", body).status == 202)
        #expect(try relay.curl("POST", "/v1/track", key: nil, body).status == 401)
        #expect(try relay.curl("POST", "/v1/batch", ["--data-binary", #"{"events":[{"event":"a"},{"event":"b"}]}"#]).status == 202)
        #expect(try relay.curl("GET", "/wp-login.php", key: nil).status == 404)
        let acks = try relay.send([#"{"event":"line"}"#, "not json"])
        #expect(acks.count == 2)

        let expected: [[String: AnyHashable]] = [
            ["path": "/v1/batch", "status": 202, "count": 1],
            ["path": "/v1/track", "status": 202, "count": 2],
            ["path": "/v1/track", "status": 401, "count": 1],
            ["path": "other", "status": 404, "count": 1],
        ]
        func counts() throws -> ([[String: AnyHashable]], Int?, Int?) {
            let status = try relay.status()
            let requests = (status["http_requests"] as? [[String: Any]] ?? []).map { entry in
                ["path": entry["path"] as? String ?? "", "status": entry["status"] as? Int ?? 0, "count": entry["count"] as? Int ?? 0] as [String: AnyHashable]
            }
            return (requests, status["lines_received"] as? Int, status["lines_refused"] as? Int)
        }
        // Written with the next commit, or within a second when there is none.
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            let (requests, received, refused) = try counts()
            return requests == expected && received == 2 && refused == 1
        })
        let (requests, received, refused) = try counts()
        #expect(requests == expected)
        #expect(received == 2)
        #expect(refused == 1)

        #expect(relay.terminate() == 0)
        let (code, text) = try relay.runCLI(["status", "--state-dir", relay.stateDirectory])
        #expect(code == 0)
        #expect(text.contains("socket lines:    2 received, 1 refused"), "\(text)")
        #expect(text.contains("http requests:   /v1/batch: 1 × 202\n                 /v1/track: 2 × 202, 1 × 401\n                 other: 1 × 404"), "\(text)")
        // Totals since the outbox was created: a restart adds to them.
        try relay.start()
        #expect(try relay.curl("POST", "/v1/track", body).status == 202)
        #expect(try RelayProcess.eventually(timeout: .seconds(10)) {
            try counts().0.contains(["path": "/v1/track", "status": 202, "count": 3])
        })
    }
}
