import Foundation
import RelayTestKit
import Testing

/// What real HTTP clients do (SPEC §4b): keep-alive, `Expect: 100-continue`, chunked bodies,
/// pipelining; and the defences against the ones that misbehave.
extension HTTPIngestTests {
    static func batchBody(_ prefix: String, _ count: Int) -> String {
        #"{"events":[\#((0..<count).map { #"{"event":"e","event_id":"\#(prefix)-\#($0)","properties":{"pad":"\#(String(repeating: "p", count: 40))"}}"# }.joined(separator: ","))]}"#
    }

    @Test func curlsExpect100ContinueChunkedBodiesAndKeepAliveWork() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9")
        defer { relay.terminate() }
        // Clients (curl for large uploads, many SDKs) send Expect: 100-continue and wait for the
        // interim answer before the body; asked for explicitly, as this curl's threshold varies.
        let body = Self.batchBody("continue", 20)
        let (code, verbose) = try relay.bash(#"curl -sS -v -X POST "$MILLIMETRIC_HOST/v1/batch" -H "Authorization: Bearer $MILLIMETRIC_KEY" -H "Content-Type: application/json" -H "Expect: 100-continue" --expect100-timeout 20 --data-binary "$BODY""#, environment: ["BODY": body])
        #expect(code == 0, "\(verbose)")
        #expect(verbose.contains("> Expect: 100-continue"), "\(verbose)")
        #expect(verbose.contains("< HTTP/1.1 100 Continue"), "\(verbose)")
        #expect(verbose.contains("< HTTP/1.1 202 Accepted"), "\(verbose)")

        let chunked = try relay.curl("POST", "/v1/batch", ["-H", "Transfer-Encoding: chunked", "--data-binary", Self.batchBody("chunked", 30)])
        #expect(chunked.status == 202, "\(chunked.body)")
        #expect((chunked.json["event_ids"] as? [String])?.count == 30)

        // Two requests in one curl: the second re-uses the connection.
        let (code2, twice) = try relay.bash(#"curl -sS -v -X POST "$MILLIMETRIC_HOST/v1/track" "$MILLIMETRIC_HOST/v1/track" -H "Authorization: Bearer $MILLIMETRIC_KEY" -H "Content-Type: application/json" -d '{"event":"again"}'"#)
        #expect(code2 == 0, "\(twice)")
        #expect(twice.components(separatedBy: "< HTTP/1.1 202 Accepted").count == 3, "\(twice)")
        #expect(twice.contains("Re-using existing connection") || twice.contains("Reusing existing connection"), "\(twice)")
        #expect(Set(try relay.queuedEventIDs().keys).isSuperset(of: (0..<20).map { "continue-\($0)" } + (0..<30).map { "chunked-\($0)" }))
    }

    /// 200 requests written at once on one socket, then one for an unknown path; answers must
    /// come back in order.
    static let pipeliningClient = #"""
        const net = require("net");
        const key = process.env.MILLIMETRIC_KEY, port = Number(process.env.PORT), count = 200;
        const req = (path, body) => `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
        const bodies = Array.from({ length: count }, (_, i) => JSON.stringify({ event: "pipelined", event_id: `pipe-${i}` }));
        const socket = net.connect(port, "127.0.0.1", () => socket.write(bodies.map((b) => req("/v1/track", b)).join("") + req("/nope", "{}")));
        let data = "";
        socket.on("data", (chunk) => {
          data += chunk;
          const statuses = [...data.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
          if (statuses.length === count + 1 && data.endsWith("}")) { console.log(JSON.stringify({ statuses, ids: [...data.matchAll(/"event_id":"([^"]+)"/g)].map((m) => m[1]) })); socket.end(); }
        });
        setTimeout(() => { console.log(data); process.exit(1); }, 60000).unref();
        """#

    @Test func pipelinedRequestsAreAnsweredInOrderAndShareCommits() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9")
        defer { relay.terminate() }
        let (code, output) = try RelayProcess.node(Self.pipeliningClient, environment: ["PORT": String(try relay.httpPort()), "MILLIMETRIC_KEY": Self.key])
        #expect(code == 0, "\(output)")
        let result = try Self.object(output)
        #expect(result["statuses"] as? [String] == Array(repeating: "202", count: 200) + ["404"])
        #expect(result["ids"] as? [String] == (0..<200).map { "pipe-\($0)" })
        // Served concurrently, the 200 requests share group commits: served one at a time,
        // each would pay its own (200 commits). How many share one depends on how the writer
        // thread and the event loop are scheduled: 3.4 on average in one CI run under the
        // parallel suite (59 commits), so the bound asks for 2.
        #expect(relay.terminate() == 0)
        let stopped = try #require(relay.allOutput.split(separator: "\n").last { $0.contains("outbox.commits=") })
        func value(_ key: String) -> Int? {
            stopped.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let commits = try #require(value("outbox.commits")), inserted = try #require(value("outbox.inserted"))
        #expect(inserted == 200)
        #expect(commits * 2 <= inserted, "\(stopped)")
    }

    /// A client that sends half a request and stalls, and one that opens connections beyond the
    /// cap: how long each connection lasts, in ms, or -1 if still open after 20 s.
    static let misbehavingClient = #"""
        const net = require("net");
        const port = Number(process.env.PORT), count = Number(process.env.COUNT), partial = process.env.PARTIAL;
        const started = Date.now(), lifetimes = new Array(count).fill(-1);
        let open = count;
        for (let i = 0; i < count; i++) {
          const s = net.connect(port, "127.0.0.1", () => { if (partial) s.write(partial); });
          s.on("data", () => {});
          s.on("error", () => {});
          s.on("close", () => { lifetimes[i] = Date.now() - started; if (--open === 0) done(); });
        }
        const done = () => { console.log(JSON.stringify(lifetimes)); process.exit(0); };
        setTimeout(done, 20000);
        """#

    @Test func aStalledRequestIsClosedAndConnectionsAreCapped() throws {
        let relay = try RelayProcess.withHTTP(host: "http://127.0.0.1:9", environment: [
            "MILLIMETRIC_RELAY_HTTP_REQUEST_TIMEOUT": "2s", "MILLIMETRIC_RELAY_MAX_CONNECTIONS": "3",
        ])
        defer { relay.terminate() }
        let port = String(try relay.httpPort())
        // Slowloris: half a head, then nothing. Closed after the request timeout, not kept.
        let (code, output) = try RelayProcess.node(Self.misbehavingClient, environment: ["PORT": port, "COUNT": "1", "PARTIAL": "POST /v1/track HTTP/1.1\r\nHost: x\r\n"])
        #expect(code == 0, "\(output)")
        let stalled = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [Int])
        #expect(stalled[0] >= 1_500 && stalled[0] < 15_000, "\(stalled)")

        // Five connections with a cap of three: two are closed at once, three time out later.
        let (code2, output2) = try RelayProcess.node(Self.misbehavingClient, environment: ["PORT": port, "COUNT": "5"])
        #expect(code2 == 0, "\(output2)")
        let lifetimes = try #require(try JSONSerialization.jsonObject(with: Data(output2.utf8)) as? [Int]).sorted()
        #expect(lifetimes.filter { $0 >= 0 && $0 < 1_500 }.count == 2, "\(lifetimes)")
        #expect(lifetimes.filter { $0 >= 1_500 }.count == 3, "\(lifetimes)")
        #expect(try relay.curl("POST", "/v1/track", ["--data-binary", #"{"event":"after"}"#]).status == 202)
    }
}
